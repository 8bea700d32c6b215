from django.urls import path

from . import invitations, views

app_name = "security"
urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("recover/", views.RecoverView.as_view(), name="recover"),
    path("recover/sent/", views.RecoverSentView.as_view(), name="recover_sent"),
    path("recover/<uidb64>/<token>/", views.RecoverConfirmView.as_view(), name="recover_confirm"),
    path("recover/done/", views.RecoverDoneView.as_view(), name="recover_done"),
    path("invitations/<str:token>/", invitations.invitation, name="invitation"),
    path("2fa/", views.two_factor, name="2fa"),
    path("2fa/setup/", views.setup, name="setup"),
    path("password/", views.password, name="password"),
    path("profile/", views.profile, name="profile"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("api-tokens/", views.org_tokens, name="org_tokens"),
    path("audit/", views.audit_log, name="audit"),
    path("domains/<int:domain_pk>/", views.domain_security, name="domain"),
    path("accounts/<int:pk>/reset-2fa/", views.reset_2fa, name="reset_2fa"),
]
