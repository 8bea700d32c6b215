"""Per-request security: who is acting (for the audit log), the idle timeout, the steps a
person must finish after the password (2FA, password change), IP restrictions on every
request of a signed-in person (panel, portal, security pages, Django admin), and the
Content-Security-Policy header."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.urls import reverse

from tempusmail.audit import Actor, audit, reset_actor, set_actor
from tempusmail.net import client_ip, ip_allowed

STEP_URLS = {
    "verify": "security:verify",
    "enroll": "security:setup",
    "password": "security:password",
}
ALWAYS_OPEN = ("/static/", "/logout/", "/i18n/")
TOUCH_EVERY = 60


def refused(request, ip: str):
    """The clear page a client outside the account's allowed networks gets (and an audit)."""
    user = request.user if request.user.is_authenticated else None
    account = getattr(user, "mailbox", None)
    audit(action="ip.refused", obj=account, fields=[], user=user)
    return render(request, "security/ip_refused.html", {"ip": ip}, status=403)


class SecurityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ip = client_ip(request)
        request.client_ip = ip
        token = set_actor(Actor(request=request, ip=ip, via="web"))
        try:
            response = self.gate(request, ip) or self.get_response(request)
        finally:
            reset_actor(token)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        return response

    def gate(self, request, ip: str):
        user = request.user
        if not user.is_authenticated:
            return None
        session = request.session
        now = int(time.time())
        if now - session.get("seen", 0) > TOUCH_EVERY:
            session["seen"] = now  # a modified session is saved: its expiry (idle timeout) renews
        path = request.path
        if path.startswith(ALWAYS_OPEN):
            return None
        if not ip_allowed(user, ip):
            response = refused(request, ip)  # audited as the signed-in person
            logout(request)
            return response
        pending = session.get("security_pending")
        if pending:
            target = reverse(STEP_URLS[pending[0]])
            if path != target:
                return redirect(target)
        return None
