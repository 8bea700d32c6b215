from django.urls import path

from . import views

app_name = "api"
urlpatterns = [
    path("v1/openapi.json", views.openapi, name="openapi"),
    path("v1/me/", views.me, name="me"),
    path("v1/domains/", views.domains, name="domains"),
    path("v1/domains/<int:pk>/", views.domain_detail, name="domain"),
    path("v1/domains/<int:domain_pk>/accounts/", views.domain_accounts, name="domain_accounts"),
    path("v1/accounts/<int:pk>/", views.account_detail, name="account"),
    path("v1/accounts/<int:pk>/password/", views.account_password, name="account_password"),
    path("v1/accounts/<int:pk>/deactivate/", views.account_deactivate, name="account_deactivate"),
    path("v1/accounts/<int:pk>/reactivate/", views.account_reactivate, name="account_reactivate"),
    path("v1/accounts/<int:pk>/aliases/", views.account_aliases, name="account_aliases"),
    path("v1/accounts/<int:pk>/aliases/<int:alias_pk>/", views.alias_detail, name="alias"),
]
