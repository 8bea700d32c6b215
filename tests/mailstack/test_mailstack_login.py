"""Create, password, services and IP restrictions, seen by real IMAP, POP3 and SMTP clients."""

import pytest
from django.contrib.auth.hashers import make_password

from accounts import services
from tests.conftest import PASSWORD

from .conftest import imap_ok, pop_ok, smtp_auth_ok, wait_online

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]


def test_create_then_imap_pop_smtp_login_and_wrong_password(
    stack, mail_worker, domain_a, make_account
):
    account = make_account(domain_a, "login1")
    wait_online(account)
    assert imap_ok(stack, "login1@a.example")
    assert pop_ok(stack, "login1@a.example")
    assert smtp_auth_ok(stack, "login1@a.example")
    assert not imap_ok(stack, "login1@a.example", "Wrong-Password-123")
    assert not pop_ok(stack, "login1@a.example", "Wrong-Password-123")
    assert not smtp_auth_ok(stack, "login1@a.example", "Wrong-Password-123")


def test_password_change_takes_effect_at_once(stack, mail_worker, domain_a, make_account):
    account = make_account(domain_a, "login2")
    wait_online(account)
    assert imap_ok(stack, "login2@a.example")  # a server that kept anything keeps it now
    new = "Another-Secret-Pass-42"
    services.account_set_password(account=account, password_hash=make_password(new))
    wait_online(account)
    assert not imap_ok(stack, "login2@a.example", PASSWORD)
    assert imap_ok(stack, "login2@a.example", new)
    assert pop_ok(stack, "login2@a.example", new)


def test_each_service_off_refuses_that_protocol(stack, mail_worker, domain_a, make_account):
    account = make_account(domain_a, "login3")
    wait_online(account)
    assert pop_ok(stack, "login3@a.example")
    services.account_update(account=account, values={"services": ["imap", "smtp"]})
    wait_online(account)
    assert not pop_ok(stack, "login3@a.example")
    assert imap_ok(stack, "login3@a.example")
    services.account_update(account=account, values={"services": ["pop", "smtp"]})
    wait_online(account)
    assert not imap_ok(stack, "login3@a.example")
    assert pop_ok(stack, "login3@a.example")
    assert smtp_auth_ok(stack, "login3@a.example")
    services.account_update(account=account, values={"services": ["pop"]})
    wait_online(account)
    assert not smtp_auth_ok(stack, "login3@a.example")
    assert pop_ok(stack, "login3@a.example")


def test_ip_restrictions(stack, mail_worker, domain_a, make_account):
    account = make_account(domain_a, "login4")
    wait_online(account)
    assert imap_ok(stack, "login4@a.example", source="127.0.0.2")
    services.account_update(account=account, values={"allowed_networks": ["127.0.0.1/32"]})
    wait_online(account)
    assert not imap_ok(stack, "login4@a.example", source="127.0.0.2")
    assert not pop_ok(stack, "login4@a.example", source="127.0.0.2")
    assert imap_ok(stack, "login4@a.example", source="127.0.0.1")
    assert pop_ok(stack, "login4@a.example", source="127.0.0.1")
    # A /8 class and an IPv6 entry are accepted by the panel and by Dovecot.
    services.account_update(
        account=account, values={"allowed_networks": ["127.0.0.0/8", "2001:db8::/32"]}
    )
    wait_online(account)
    assert imap_ok(stack, "login4@a.example", source="127.0.0.2")
    services.account_update(account=account, values={"allowed_networks": ["2001:db8::/32"]})
    wait_online(account)
    assert not imap_ok(stack, "login4@a.example", source="127.0.0.1")


def test_a_password_staff_set_in_the_admin_is_the_one_imap_takes(
    stack, mail_worker, domain_a, make_account
):
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    account = make_account(domain_a, "login5")
    wait_online(account)
    staff = Client()
    staff.force_login(User.objects.create_superuser("support@provider.test", PASSWORD))
    new = "Tramonto-Lago-42!"
    response = staff.post(
        reverse("admin:auth_user_password_change", args=[account.user_id]),
        {"password1": new, "password2": new},
    )
    assert response.status_code == 302
    wait_online(account)
    assert not imap_ok(stack, "login5@a.example", PASSWORD)
    assert imap_ok(stack, "login5@a.example", new)
    assert smtp_auth_ok(stack, "login5@a.example", new)
