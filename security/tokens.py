"""Who is calling the API: a bearer token (personal or organization) or, for endpoints that
accept it, the browser session. settings.API_AUTHENTICATOR names authenticate_token for the
API's transport (tempusmail.api); the portal's JSON endpoint uses authenticate."""

from django.contrib.auth.models import AnonymousUser

from tempusmail.api import IpRefused
from tempusmail.audit import current_actor
from tempusmail.net import ip_allowed

from .services import token_lookup


def bearer_key(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def authenticate_token(request):
    """The ApiToken presented with the request, or None. Sets request.user and request.api_token
    and marks the audit actor as the API. Raises IpRefused for a client outside the networks."""
    key = bearer_key(request)
    if key is None:
        return None
    token = token_lookup(key)
    if token is None:
        return None
    request.user = token.user
    request.api_token = token
    actor = current_actor()
    if actor is not None:
        actor.user, actor.via = token.user, "api"
    if not ip_allowed(token.user, getattr(request, "client_ip", request.META.get("REMOTE_ADDR"))):
        raise IpRefused
    return token


def authenticate(request, *, session: bool = True):
    """The User behind a personal token or (if `session`) the signed-in, fully verified
    session, or None. The caller checks CSRF for session writes (Django does for non-exempt
    views). Mailbox owners outside their allowed networks get None."""
    try:
        token = authenticate_token(request)
    except IpRefused:
        request.user = AnonymousUser()
        return None
    if token is not None:
        return token.user if token.kind == token.Kind.PERSONAL else None
    user = getattr(request, "user", None)
    if not session or user is None or not user.is_authenticated:
        return None
    if request.session.get("security_pending"):
        return None
    return user
