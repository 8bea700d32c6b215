"""URL confs with an unscoped view and one that tells another tenant's object exists (403
instead of 404), to prove the isolation sweep catches them."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import include, path

from accounts.models import EmailAccount


def leaky(request, pk):
    return HttpResponse(EmailAccount.objects.get(pk=pk).address)  # no tenancy check


def telling(request, pk):
    account = EmailAccount.objects.filter(pk=pk).first()
    if account is not None and not account.organization.memberships.filter(user=request.user):
        raise PermissionDenied  # "it exists, but not for you"
    return HttpResponse(status=404)


def mystery(request, widget_id):
    return HttpResponse("")


urlpatterns = [path("leaky/accounts/<int:pk>/", leaky), path("", include("tempusmail.urls"))]
telling_urlpatterns = [path("telling/accounts/<int:pk>/", telling), *urlpatterns[1:]]
mystery_urlpatterns = [path("w/<int:widget_id>/", mystery), *urlpatterns]
