from django.urls import path

from . import views

app_name = "security"
urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("2fa/", views.two_factor, name="2fa"),
    path("2fa/setup/", views.setup, name="setup"),
    path("password/", views.password, name="password"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("api-tokens/", views.org_tokens, name="org_tokens"),
    path("audit/", views.audit_log, name="audit"),
    path("domains/<int:domain_pk>/", views.domain_security, name="domain"),
    path("accounts/<int:pk>/reset-2fa/", views.reset_2fa, name="reset_2fa"),
]
