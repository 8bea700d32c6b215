"""The sign-in door: generic errors, throttling, session rotation, idle timeout, the steps a
policy adds after the password (2FA, forced or expired password), IP restrictions."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from accounts import services as account_services
from security.models import AuditEvent, DomainSecurityPolicy
from tests.conftest import PASSWORD

from .helpers import clear_cache, enroll, sign_in, totp_code

GENERIC = "Incorrect email address or password."
NEW = "Brand-New-Secret-42"


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_cache()
    yield
    clear_cache()


def test_wrong_password_and_unknown_address_get_the_same_message(client, account_a):
    wrong = sign_in(client, account_a.address, "nope-nope-nope")
    unknown = sign_in(client, "nobody@a.example", "nope-nope-nope")
    assert wrong.status_code == unknown.status_code == 200
    assert GENERIC in wrong.content.decode()
    assert GENERIC in unknown.content.decode()
    assert "_auth_user_id" not in client.session


def test_deactivated_account_cannot_sign_in_and_is_not_told_why(client, account_a):
    account_services.account_deactivate(account=account_a)
    response = sign_in(client, account_a.address)
    assert GENERIC in response.content.decode()


def test_session_key_rotates_at_login(client, owner):
    client.get("/login/")
    client.session.save()
    before = client.session.session_key
    response = sign_in(client, owner.email)
    assert response.status_code == 302
    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_failed_logins_are_throttled_per_account_even_with_the_right_password(
    client, settings, owner
):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        sign_in(client, owner.email, "wrong-password-x")
    response = sign_in(client, owner.email)
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # an address that does not exist is throttled the same way: nothing is revealed
    for _ in range(3):
        sign_in(client, "ghost@a.example", "wrong-password-x")
    assert "Too many failed" in sign_in(client, "ghost@a.example", "x").content.decode()


def test_failed_logins_are_throttled_per_ip(client, settings, owner, viewer):
    settings.LOGIN_FAILURES_PER_IP = 4
    for i in range(4):
        sign_in(client, f"user{i}@nowhere.test", "wrong-password-x")
    response = sign_in(client, viewer.email)
    assert "Too many failed" in response.content.decode()
    other_ip = sign_in(client, viewer.email, REMOTE_ADDR="192.0.2.7")
    assert other_ip.status_code == 302


def test_idle_session_expires(client, owner):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, owner.email)
        assert client.get("/domains/").status_code == 200
        traveller.shift(dt.timedelta(minutes=20))
        assert client.get("/domains/").status_code == 200  # activity renews the session
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get("/domains/").status_code == 200
        traveller.shift(dt.timedelta(minutes=31))
        response = client.get("/domains/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_forced_password_change_blocks_everything_until_done(client, domain_a, make_account):
    account = make_account(domain_a, "carol", force_password_change=True)
    response = sign_in(client, account.address)
    assert response["Location"] == "/security/password/"
    assert client.get("/domains/")["Location"] == "/security/password/"
    response = client.post(
        "/security/password/",
        {"old_password": PASSWORD, "new_password": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.force_password_change is False
    assert account.user.check_password(NEW)
    assert client.get("/domains/").status_code == 200


@pytest.mark.parametrize(
    ("months", "still_valid", "expired"),
    [
        (3, dt.datetime(2026, 4, 9, tzinfo=dt.UTC), dt.datetime(2026, 4, 11, tzinfo=dt.UTC)),
        (6, dt.datetime(2026, 7, 9, tzinfo=dt.UTC), dt.datetime(2026, 7, 11, tzinfo=dt.UTC)),
        (12, dt.datetime(2027, 1, 9, tzinfo=dt.UTC), dt.datetime(2027, 1, 11, tzinfo=dt.UTC)),
    ],
)
def test_expired_password_must_be_changed(
    client, domain_a, make_account, months, still_valid, expired
):
    with time_machine.travel(dt.datetime(2026, 1, 10, tzinfo=dt.UTC), tick=False) as traveller:
        account = make_account(domain_a, "dave", password_expiry_months=months)
        traveller.move_to(still_valid)
        assert sign_in(client, account.address)["Location"] != "/security/password/"
        assert client.session["security_pending"] == []
        client.post("/logout/")
        traveller.move_to(expired)
        response = sign_in(client, account.address)
        assert response["Location"] == "/security/password/"
        page = client.get("/security/password/").content.decode()
        assert "must be changed" in page
        response = client.post(
            "/security/password/",
            {"old_password": PASSWORD, "new_password": NEW, "new_password2": NEW},
        )
        assert response.status_code == 302
        client.post("/logout/")
        assert sign_in(client, account.address, NEW)["Location"] != "/security/password/"


def test_weak_and_reused_passwords_are_refused(client, domain_a, make_account):
    account = make_account(domain_a, "erin", block_password_reuse=True)
    sign_in(client, account.address)
    weak = client.post(
        "/security/password/",
        {"old_password": PASSWORD, "new_password": "12345", "new_password2": "12345"},
    )
    assert "too short" in weak.content.decode()
    for old, new in [(PASSWORD, NEW), (NEW, "Another-Fine-Pass-7")]:
        response = client.post(
            "/security/password/", {"old_password": old, "new_password": new, "new_password2": new}
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    reuse = client.post(
        "/security/password/",
        {
            "old_password": "Another-Fine-Pass-7",
            "new_password": PASSWORD,
            "new_password2": PASSWORD,
        },
    )
    assert "not used before" in reuse.content.decode()
    account.user.refresh_from_db()
    assert account.user.check_password("Another-Fine-Pass-7")


def test_disabled_password_change_refuses_the_user_but_not_the_admin(
    client, client_for, domain_a, make_account, owner
):
    account = make_account(domain_a, "frank", disable_password_change=True)
    sign_in(client, account.address)
    assert client.get("/security/password/").status_code == 403
    response = client.post(
        "/security/password/",
        {"old_password": PASSWORD, "new_password": NEW, "new_password2": NEW},
    )
    assert response.status_code == 403
    client.post("/logout/")
    admin = client_for(owner)
    admin.post(f"/accounts/{account.pk}/password/", {"password": NEW})
    account.user.refresh_from_db()
    assert account.user.check_password(NEW)


def test_totp_user_must_give_a_code_and_a_code_works_once(client, owner):
    device = enroll(owner)
    response = sign_in(client, owner.email)
    assert response["Location"] == "/security/verify/"
    assert client.get("/domains/")["Location"] == "/security/verify/"
    assert client.get("/admin/")["Location"] == "/security/verify/"
    bad = client.post("/security/verify/", {"token": "000000"})
    assert "not valid" in bad.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    code = totp_code(device)
    assert client.post("/security/verify/", {"token": code}).status_code == 302
    assert client.get("/domains/").status_code == 200
    client.post("/logout/")
    sign_in(client, owner.email)
    again = client.post("/security/verify/", {"token": code})
    assert "not valid" in again.content.decode()


def test_wrong_codes_end_the_sign_in_but_never_delay_the_owners_next_one(client, owner):
    device = enroll(owner)
    sign_in(client, owner.email)
    for _ in range(4):
        assert "not valid" in client.post("/security/verify/", {"token": "000000"}).content.decode()
    fifth = client.post("/security/verify/", {"token": "000000"})
    assert fifth["Location"] == "/login/"  # the password must be typed again
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="otp.failure", actor=owner).count() == 5
    sign_in(client, owner.email)
    assert client.post("/security/verify/", {"token": totp_code(device)}).status_code == 302


def test_backup_code_is_single_use(client, owner):
    from security import services

    enroll(owner)
    codes = services.regenerate_backup_codes(user=owner)
    assert len(codes) == 10
    sign_in(client, owner.email)
    assert client.post("/security/verify/", {"token": codes[0]}).status_code == 302
    client.post("/logout/")
    sign_in(client, owner.email)
    assert "not valid" in client.post("/security/verify/", {"token": codes[0]}).content.decode()


def test_force_2fa_takes_the_user_to_enrollment_and_nowhere_else(client, domain_a, make_account):
    account = make_account(domain_a, "gina", force_2fa=True)
    response = sign_in(client, account.address)
    assert response["Location"] == "/security/2fa/setup/"
    assert client.get("/portal/")["Location"] == "/security/2fa/setup/"
    assert client.get("/security/tokens/")["Location"] == "/security/2fa/setup/"
    page = client.get("/security/2fa/setup/").content.decode()
    assert "<svg" in page and "required" in page
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=account.user, confirmed=False)
    response = client.post("/security/2fa/setup/", {"token": totp_code(device)})
    assert response.status_code == 200 and response.content.decode().count("<code>") == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/domains/").status_code == 200
    # required: the user cannot switch it off
    client.post("/security/2fa/", {"action": "disable"})
    assert TOTPDevice.objects.filter(user=account.user, confirmed=True).exists()


def test_domain_policy_requires_2fa_for_every_account(
    client, client_for, owner, domain_a, make_account
):
    account = make_account(domain_a, "hank")
    admin = client_for(owner)
    page = admin.get(f"/security/domains/{domain_a.pk}/").content.decode()
    assert "Mandatory OTP" in page
    admin.post(f"/security/domains/{domain_a.pk}/", {"require_2fa": "on"})
    assert DomainSecurityPolicy.objects.get(domain=domain_a).require_2fa
    admin.post("/logout/")
    assert sign_in(client, account.address)["Location"] == "/security/2fa/setup/"


def test_viewer_cannot_change_domain_policy(client_for, viewer, domain_a):
    response = client_for(viewer).post(f"/security/domains/{domain_a.pk}/", {"require_2fa": "on"})
    assert response.status_code == 403
    assert not DomainSecurityPolicy.objects.filter(domain=domain_a, require_2fa=True).exists()


def test_admin_can_turn_on_2fa_for_their_own_login_and_owner_can_reset_a_users(
    client, client_for, owner, account_a
):
    device = enroll(account_a.user)
    admin = client_for(owner)
    page = admin.get(f"/security/domains/{account_a.domain_id}/").content.decode()
    assert account_a.address in page
    admin.post(f"/security/accounts/{account_a.pk}/reset-2fa/")
    assert not type(device).objects.filter(pk=device.pk).exists()
    assert AuditEvent.objects.filter(action="2fa.reset", actor=owner).exists()
    assert "Set up" in admin.get("/security/2fa/").content.decode()


def test_staff_login_requires_2fa_outside_development(client, settings, db):
    from accounts.models import User

    settings.STAFF_REQUIRE_2FA = True
    User.objects.create_superuser("staff@provider.test", PASSWORD)
    response = sign_in(client, "staff@provider.test")
    assert response["Location"] == "/security/2fa/setup/"
    assert client.get("/admin/")["Location"] == "/security/2fa/setup/"
    client.post("/logout/")
    assert client.get("/admin/login/?next=/admin/")["Location"] == "/login/?next=/admin/"


def test_ip_restriction_refuses_login_portal_and_api_and_is_audited(client, domain_a, make_account):
    account = make_account(domain_a, "ivan", allowed_networks=["192.0.2.0/24"])
    refused = sign_in(client, account.address)  # the test client is 127.0.0.1
    assert refused.status_code == 200  # the same answer as a wrong password: nothing confirmed
    assert GENERIC in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="ip.refused", object_repr=account.address).exists()
    allowed = sign_in(client, account.address, REMOTE_ADDR="192.0.2.10")
    assert allowed.status_code == 302
    assert client.get("/portal/", REMOTE_ADDR="192.0.2.10").status_code == 200
    assert client.get("/portal/").status_code == 403  # same session, another network
    refusals = AuditEvent.objects.filter(action="ip.refused", actor=account.user)
    assert refusals.count() == 2 and refusals.first().ip == "127.0.0.1"
    assert client.get("/portal/", REMOTE_ADDR="192.0.2.10").status_code == 302  # signed out


def test_forwarded_for_is_only_believed_from_trusted_proxies(
    client, settings, domain_a, make_account
):
    account = make_account(domain_a, "judy", allowed_networks=["192.0.2.0/24"])
    spoofed = sign_in(client, account.address, HTTP_X_FORWARDED_FOR="192.0.2.10")
    assert spoofed.status_code == 200 and "_auth_user_id" not in client.session
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    via_proxy = sign_in(client, account.address, HTTP_X_FORWARDED_FOR="192.0.2.10")
    assert via_proxy.status_code == 302


def test_oversized_password_is_refused_with_a_clear_error(client, owner):
    response = sign_in(client, owner.email, "x" * 100_000)
    assert response.status_code == 200
    assert "at most 128 characters" in response.content.decode()
    assert "_auth_user_id" not in client.session
