"""A URL conf with one unscoped view, to prove the isolation sweep catches it."""

from django.http import HttpResponse
from django.urls import include, path

from accounts.models import EmailAccount


def leaky(request, pk):
    return HttpResponse(EmailAccount.objects.get(pk=pk).address)  # no tenancy check


def mystery(request, widget_id):
    return HttpResponse("")


urlpatterns = [path("leaky/accounts/<int:pk>/", leaky), path("", include("tempusmail.urls"))]
mystery_urlpatterns = [path("w/<int:widget_id>/", mystery), *urlpatterns]
