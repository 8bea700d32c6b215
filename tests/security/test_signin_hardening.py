"""Issue 9, findings 2, 3 and 4, and the sign-in audit: throttling that no spelling of an
address escapes, IP restrictions on every request (Django admin and panel included), a
refused address that answers like a wrong password, and a second factor that a password
alone cannot lock and a session alone cannot change."""

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from domains.models import Membership, Role
from security import services as security_services
from security.models import AuditEvent
from tests.conftest import PASSWORD

from .helpers import clear_cache, enroll, sign_in, totp_code

GENERIC = "Incorrect email address or password."
THROTTLED = "Too many failed sign-in attempts"


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def bob(domain_a, make_account):
    return make_account(domain_a, "bob")


# --- finding 2: the per-account lockout and Unicode variants --------------------------------


def test_fullwidth_variant_of_a_locked_address_is_locked_too(client, settings, bob):
    """As reported: 5 failures for bob@a.example, then ｂob@a.example (fullwidth b) with the
    right password signed in as bob."""
    settings.LOGIN_FAILURES_PER_ACCOUNT = 5
    for _ in range(5):
        sign_in(client, "bob@a.example", "wrong-password-x")
    response = sign_in(client, "\uff42ob@a.example", PASSWORD)
    assert THROTTLED in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "variant", ["BOB@A.EXAMPLE", " bob@a.example ", "\uff42\uff4f\uff42@a.example"]
)
def test_every_spelling_counts_for_the_same_person(client, settings, bob, variant):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        sign_in(client, variant, "wrong-password-x")
    assert THROTTLED in sign_in(client, "bob@a.example").content.decode()


def test_ipv6_clients_are_counted_by_their_64(client, settings, owner):
    """Each address of one /64 is the same client: a host picks any of them at will."""
    settings.LOGIN_FAILURES_PER_IP = 4
    for i in range(4):
        sign_in(
            client, f"nobody{i}@x.test", "wrong-password-x", REMOTE_ADDR=f"2001:db8:1:2::{i + 1}"
        )
    response = sign_in(client, owner.email, REMOTE_ADDR="2001:db8:1:2:ffff::9")
    assert THROTTLED in response.content.decode()
    other = sign_in(client, owner.email, REMOTE_ADDR="2001:db8:1:3::1")
    assert other.status_code == 302


# --- finding 3: IP restrictions and the admin panel ------------------------------------------


@pytest.fixture
def restricted_member(domain_a, make_account, org_a):
    account = make_account(domain_a, "restricted", allowed_networks=["192.0.2.0/24"])
    Membership.objects.create(user=account.user, organization=org_a, role=Role.OWNER)
    return account


def test_restricted_members_session_does_not_work_on_the_panel_from_elsewhere(
    client, restricted_member, domain_a
):
    """As reported: a restricted member's session worked on /domains/… and could write from
    any address."""
    assert sign_in(client, restricted_member.address, REMOTE_ADDR="192.0.2.5").status_code == 302
    assert client.get("/domains/", REMOTE_ADDR="192.0.2.5").status_code == 200
    response = client.post(
        f"/domains/{domain_a.pk}/settings/",
        {
            "services": domain_a.services,
            "storage_options_mb": domain_a.storage_options_mb,
            "default_daily_send_limit": 7,
        },
        REMOTE_ADDR="198.51.100.1",
    )
    assert response.status_code == 403
    domain_a.refresh_from_db()
    assert domain_a.default_daily_send_limit != 7
    # refused once, the session is over even back on the allowed network
    assert client.get("/domains/", REMOTE_ADDR="192.0.2.5").status_code == 302


def test_restricted_staff_session_does_not_work_on_the_django_admin(client, restricted_member):
    restricted_member.user.is_staff = True
    restricted_member.user.is_superuser = True
    restricted_member.user.save()
    client.force_login(restricted_member.user)
    assert client.get("/admin/", REMOTE_ADDR="198.51.100.1").status_code == 403


def test_refused_address_with_the_right_password_answers_like_a_wrong_password(
    client, restricted_member
):
    """As reported: the refused address with the right password answered differently from a
    wrong password, confirming the password."""
    right = sign_in(client, restricted_member.address, PASSWORD, REMOTE_ADDR="198.51.100.1")
    wrong = sign_in(
        client, restricted_member.address, "wrong-password-x", REMOTE_ADDR="198.51.100.1"
    )
    assert right.status_code == wrong.status_code == 200

    def strip(response):  # the CSRF token differs on every page
        return re.sub(r"[A-Za-z0-9]{64}", "", response.content.decode())

    assert strip(right) == strip(wrong)
    assert GENERIC in strip(right)
    assert "_auth_user_id" not in client.session


def test_every_kind_of_token_honours_the_ip_restrictions(client, restricted_member, org_a):
    _token, key = security_services.token_create(
        user=restricted_member.user, name="org", organization=org_a
    )
    response = client.get("/api/v1/domains/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 403
    allowed = client.get(
        "/api/v1/domains/", HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR="192.0.2.9"
    )
    assert allowed.status_code == 200


# --- finding 4: the second factor --------------------------------------------------------------


def test_password_alone_cannot_lock_the_owner_out_of_their_second_factor(client, owner):
    """As reported: after 4 wrong codes the valid TOTP code and an unused backup code were
    refused for a growing time."""
    device = enroll(owner)
    codes = security_services.regenerate_backup_codes(user=owner)
    attacker = client.__class__()
    sign_in(attacker, owner.email, REMOTE_ADDR="203.0.113.66")
    for _ in range(4):
        attacker.post("/security/verify/", {"token": "123456"}, REMOTE_ADDR="203.0.113.66")
    sign_in(client, owner.email)
    assert client.post("/security/verify/", {"token": totp_code(device)}).status_code == 302
    client.post("/logout/")
    for _ in range(8):
        attacker.post("/security/verify/", {"token": "123456"}, REMOTE_ADDR="203.0.113.66")
    sign_in(client, owner.email)
    assert client.post("/security/verify/", {"token": codes[0]}).status_code == 302


def test_live_session_alone_cannot_turn_2fa_off_or_make_new_codes(client, owner):
    """As reported: with only a live session, 2FA could be turned off without the password."""
    enroll(owner)
    old_codes = security_services.regenerate_backup_codes(user=owner)
    client.force_login(owner)
    page = client.get("/security/2fa/").content.decode()
    assert 'name="password"' in page
    for action in ("disable", "codes"):
        response = client.post("/security/2fa/", {"action": action})
        assert response.status_code == 400
        response = client.post("/security/2fa/", {"action": action, "password": "not-it-at-all"})
        assert "not correct" in response.content.decode()
    assert TOTPDevice.objects.filter(user=owner, confirmed=True).exists()
    assert security_services.verify_otp(user=owner, token=old_codes[1]) is not None
    new = client.post("/security/2fa/", {"action": "codes", "password": PASSWORD})
    assert new.status_code == 200 and new.content.decode().count("<code>") == 10
    off = client.post("/security/2fa/", {"action": "disable", "password": PASSWORD})
    assert off.status_code == 302
    assert not TOTPDevice.objects.filter(user=owner).exists()


def test_live_session_alone_cannot_replace_the_device(client, owner):
    """As reported: the device could be replaced without re-entering the password."""
    old = enroll(owner)
    client.force_login(owner)
    page = client.get("/security/2fa/setup/").content.decode()
    assert 'name="password"' in page
    new = TOTPDevice.objects.get(user=owner, confirmed=False)
    response = client.post("/security/2fa/setup/", {"token": totp_code(new)})
    assert response.status_code == 200 and "<code>" not in response.content.decode()
    assert TOTPDevice.objects.filter(pk=old.pk, confirmed=True).exists()
    response = client.post("/security/2fa/setup/", {"token": totp_code(new), "password": PASSWORD})
    assert response.content.decode().count("<code>") == 10
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()


def test_enrollment_as_a_sign_in_step_does_not_ask_the_password_twice(
    client, domain_a, make_account
):
    account = make_account(domain_a, "newbie", force_2fa=True)
    assert sign_in(client, account.address)["Location"] == "/security/2fa/setup/"
    assert 'name="password"' not in client.get("/security/2fa/setup/").content.decode()


def test_backup_codes_are_stored_hashed(owner):
    from security.models import BackupCode

    codes = security_services.regenerate_backup_codes(user=owner)
    stored = list(BackupCode.objects.filter(device__user=owner).values_list("code_hash", flat=True))
    assert len(stored) == 10
    for code in codes:
        plain = code.replace("-", "")
        assert all(plain not in h and code not in h for h in stored)
    assert security_services.verify_otp(user=owner, token=codes[3].upper()) is not None
    assert security_services.verify_otp(user=owner, token=codes[3]) is None  # single use


# --- sign-ins are audit events ------------------------------------------------------------------


def test_sign_ins_are_audited_with_who_address_and_when(client, settings, owner, restricted_member):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    sign_in(client, owner.email, REMOTE_ADDR="198.51.100.7")
    client.post("/logout/")
    sign_in(client, owner.email, "wrong-password-x", REMOTE_ADDR="198.51.100.7")
    sign_in(client, "ghost@nowhere.test", "wrong-password-x", REMOTE_ADDR="198.51.100.7")
    sign_in(client, owner.email, "wrong-password-x", REMOTE_ADDR="198.51.100.7")
    sign_in(client, owner.email, REMOTE_ADDR="198.51.100.7")  # throttled now
    sign_in(client, restricted_member.address, REMOTE_ADDR="198.51.100.7")
    events = {
        (e.action, e.actor_email, e.ip)
        for e in AuditEvent.objects.filter(action__in=security_services.SIGN_IN_ACTIONS)
    }
    assert ("login.success", owner.email, "198.51.100.7") in events
    assert ("login.failure", owner.email, "198.51.100.7") in events
    assert ("login.failure", "ghost@nowhere.test", "198.51.100.7") in events
    assert ("login.throttled", owner.email, "198.51.100.7") in events
    assert ("ip.refused", restricted_member.address, "198.51.100.7") in events
    success = AuditEvent.objects.filter(action="login.success").first()
    assert success.actor == owner and success.at is not None
