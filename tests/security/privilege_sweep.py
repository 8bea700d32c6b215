"""The privilege-escalation sweep (issue 9): every role of organization A, through every write
URL of the panel and the API (enumerated from the resolver), aims at a mailbox of A whose
login is also a member of organization B. None of them may change what decides who signs in
as that login: its password, recovery address, API access, IP restrictions, status, second
factor or tokens. The URLs whose only purpose is such a change must answer 403 (404 for
someone who is no member of A)."""

import json

from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import EmailAccount, User
from accounts.views import SECTIONS
from security.models import ApiToken, BackupCodes

from .test_isolation_sweep import fill, walk

ATTACKER_PASSWORD = "Climbed-To-Owner-1"
# Everything a settings form, the password form or the API accepts, set to what an attacker
# wants: the credentials, with valid values around them so the forms pass and reach the
# services (which must refuse, or keep the guarded values).
FORM_VALUES = {
    "password": ATTACKER_PASSWORD,
    "generate": "on",
    "external_email": "attacker@evil.test",
    "api_access": "on",
    "allowed_networks": "203.0.113.0/24",
    "first_name": "Boss",
    "last_name": "Test",
    "language": "en",
    "time_zone": "UTC",
    "password_expiry_months": "0",
    "quota_mb": "1024",
    "daily_send_limit": "10",
    "forward_keep_copy": "on",
    "webmail_language": "en",
    "webmail_time_zone": "UTC",
    "date_format": "d/m/Y",
    "time_format": "H:i",
    "in_address_book": "on",
    "address": "climb@a.example",
}
API_BODIES = [
    {"password": ATTACKER_PASSWORD},
    {"external_email": "attacker@evil.test"},
    {"api_access": True},
    {"allowed_networks": ["203.0.113.0/24"]},
    {
        "external_email": "attacker@evil.test",
        "api_access": True,
        "first_name": "Boss",
        "autoreply_subject": "x",
    },
]
# Panel URLs (by name) whose only purpose is a guarded change of the mailbox in the path.
CREDENTIAL_URLS = {
    "accounts:password",
    "accounts:deactivate",
    "accounts:reactivate",
    "accounts:delete",
    "security:reset_2fa",
}
API_CREDENTIAL_URLS = {
    "api:account_password",
    "api:account_deactivate",
    "api:account_reactivate",
}


def credentials(account: EmailAccount) -> dict:
    """What decides who can sign in as the account's login."""
    account = EmailAccount.objects.get(pk=account.pk)
    user = User.objects.get(pk=account.user_id)
    return {
        "password": user.password,
        "external_email": user.external_email,
        "user_active": user.is_active,
        "tokens_revoked_at": user.tokens_revoked_at,
        "api_access": account.api_access,
        "allowed_networks": account.allowed_networks,
        "is_active": account.is_active,
        "deleting": account.deleting,
        "totp": sorted(TOTPDevice.objects.filter(user=user).values_list("pk", flat=True)),
        "backup": sorted(BackupCodes.objects.filter(user=user).values_list("pk", flat=True)),
        "tokens": sorted(
            ApiToken.objects.filter(user=user).values_list("pk", "revoked_at"), key=str
        ),
    }


def panel_sweep(client, user, role, objects, target) -> int:
    swept = 0
    for route, namespace, pattern in walk():
        if namespace.startswith("admin") or namespace == "api":
            continue
        routes = [route]
        if "<slug:section>" in route:
            routes = [route.replace("<slug:section>", s) for s in SECTIONS]
        name = f"{namespace}:{pattern.name}"
        for concrete in routes:
            url = fill(concrete, objects)
            before = credentials(target)
            client.force_login(user)
            response = client.post(url, FORM_VALUES)
            assert response.status_code != 500, f"POST {url} as {role}: 500"
            assert credentials(target) == before, f"POST {url} as {role} changed credentials"
            if name in CREDENTIAL_URLS:
                expected = 404 if role == "enduser" else 403
                assert response.status_code == expected, (
                    f"POST {url} as {role} answered {response.status_code}, not {expected}"
                )
            swept += 1
    return swept


def api_sweep(client, key, who, objects, target) -> int:
    swept = 0
    for route, namespace, pattern in walk():
        if namespace != "api" or not hasattr(pattern.callback, "api_methods"):
            continue
        url = fill(route, objects)
        name = f"api:{pattern.name}"
        for method in pattern.callback.api_methods:
            if method == "GET":
                continue
            for data in API_BODIES:
                before = credentials(target)
                response = client.generic(
                    method,
                    url,
                    json.dumps(data),
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {key}",
                )
                where = f"{method} {url} {data} with {who}'s token"
                assert response.status_code != 500, where
                assert credentials(target) == before, f"{where} changed credentials"
                if name in API_CREDENTIAL_URLS and "<int:pk>" in route:
                    assert response.status_code in (403, 404), (
                        f"{where} answered {response.status_code}"
                    )
                swept += 1
    return swept
