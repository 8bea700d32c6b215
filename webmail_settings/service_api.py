"""The mail-side services' read of a user's effective settings (docs/services.md).

Roundcube's tempusmail plugin (at login and every few minutes) and Radicale's company address
book call it with the provider's SERVICES_API_KEY: they run next to Dovecot, hold no user
session, and must see the panel's settings as they are now, so they ask the source of truth
instead of keeping a copy in sync.
"""

from django.conf import settings as django_settings
from django.http import JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import services
from .access import get_mailbox_for_service

SERVICES = ("webmail", "dav")


@never_cache
@require_GET
def settings(request):
    """GET ?address=…&service=webmail|dav with `Authorization: Bearer <SERVICES_API_KEY>`:
    the document of docs/webmail-api.md for an active mailbox with that service on."""
    key = django_settings.SERVICES_API_KEY
    scheme, _sep, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if not key or scheme.lower() != "bearer" or not constant_time_compare(given.strip(), key):
        return JsonResponse({"error": "authentication required"}, status=401)
    service = request.GET.get("service", "")
    if service not in SERVICES:
        return JsonResponse({"error": "service must be one of: webmail, dav"}, status=400)
    account = get_mailbox_for_service(request.GET.get("address", ""), service)
    return JsonResponse(services.effective_settings(account))
