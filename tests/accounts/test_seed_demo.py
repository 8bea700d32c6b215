"""manage.py seed_demo (what `make run` shows): a demo organization, its domain and three
mailboxes, an admin who can sign in with the printed password; run again, it refreshes the
password and adds nothing twice."""

import io
import re

from django.core.management import call_command

from accounts.models import EmailAccount, User
from domains.models import Domain, Membership, Role

ADMIN = "admin@tempusmail.test"


def seed(monkeypatch, password=None, *args) -> str:
    if password:
        monkeypatch.setenv("DEMO_ADMIN_PASSWORD", password)
    else:
        monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seed_creates_the_demo_and_prints_a_working_login(client, db, monkeypatch):
    out = seed(monkeypatch)
    password = re.search(rf"login: {ADMIN}\s+password: (\S+)", out).group(1)
    admin = User.objects.get(email=ADMIN)
    assert admin.is_staff and admin.is_superuser
    membership = Membership.objects.get(user=admin)
    assert membership.role == Role.OWNER
    domain = Domain.objects.get(name="demo.example", organization=membership.organization)
    assert sorted(EmailAccount.objects.filter(domain=domain).values_list("address", flat=True)) == [
        "alice@demo.example",
        "bob@demo.example",
        "info@demo.example",
    ]
    alice = EmailAccount.objects.select_related("user").get(address="alice@demo.example")
    assert alice.user.check_password(password)  # "the same password" for the mailboxes
    assert alice.desired_version > alice.applied_version  # on its way to the mail system
    response = client.post("/login/", {"username": ADMIN, "password": password})
    assert response.status_code == 302


def test_seed_twice_adds_nothing_and_takes_the_given_password(db, monkeypatch):
    seed(monkeypatch)
    out = seed(monkeypatch, password="Chosen-Demo-Pass-1")
    assert "password: Chosen-Demo-Pass-1" in out
    assert User.objects.get(email=ADMIN).check_password("Chosen-Demo-Pass-1")
    assert EmailAccount.objects.count() == 3 and Domain.objects.count() == 1
    assert Membership.objects.count() == 1


def test_run_again_the_mailboxes_take_the_new_password_and_the_banner_the_real_address(
    db, monkeypatch
):
    seed(monkeypatch)
    out = seed(monkeypatch, None, "--url", "http://0.0.0.0:8765/")
    assert "Panel: http://0.0.0.0:8765/" in out
    password = re.search(rf"login: {ADMIN}\s+password: (\S+)", out).group(1)
    for account in EmailAccount.objects.select_related("user"):
        assert account.user.check_password(password), account.address
        assert account.desired_version > account.applied_version  # pushed again
