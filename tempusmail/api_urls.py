"""The JSON API's URLs (v1), composed from every app's api.py (a root module, like urls.py)."""

from django.http import JsonResponse
from django.urls import path

from accounts import api as accounts_api
from domains import api as domains_api
from webmail_settings import api as webmail_api

from .openapi import document


def openapi(request):
    return JsonResponse(document(urlpatterns))


app_name = "api"
urlpatterns = [
    path("v1/openapi.json", openapi, name="openapi"),
    path("v1/me/", webmail_api.me, name="me"),
    path("v1/domains/", domains_api.domains, name="domains"),
    path("v1/domains/<int:pk>/", domains_api.domain_detail, name="domain"),
    path(
        "v1/domains/<int:domain_pk>/accounts/",
        accounts_api.domain_accounts,
        name="domain_accounts",
    ),
    path("v1/accounts/<int:pk>/", accounts_api.account_detail, name="account"),
    path("v1/accounts/<int:pk>/password/", accounts_api.account_password, name="account_password"),
    path(
        "v1/accounts/<int:pk>/deactivate/",
        accounts_api.account_deactivate,
        name="account_deactivate",
    ),
    path(
        "v1/accounts/<int:pk>/reactivate/",
        accounts_api.account_reactivate,
        name="account_reactivate",
    ),
    path("v1/accounts/<int:pk>/aliases/", accounts_api.account_aliases, name="account_aliases"),
    path("v1/accounts/<int:pk>/aliases/<int:alias_pk>/", accounts_api.alias_detail, name="alias"),
]
