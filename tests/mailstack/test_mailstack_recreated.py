"""A deleted address created again, against the real Dovecot and Postfix (issue 15, item 5):
a stale push of the deleted account that lands after the new mailbox went live neither
overwrites nor removes it: the directory holds the new row's state, its owner signs in and
mail is delivered to it."""

import pytest

from accounts import services, sync
from accounts.models import EmailAccount
from domains import sync as domain_sync
from tempusmail.mailbackend import get_backend
from tempusmail.mailbackend.dovecot import dovecot_password
from tests.conftest import PASSWORD
from tests.mailbackend.test_recreated_address import land_late

from .conftest import imap_ok, send, wait_subject

pytestmark = [pytest.mark.mailstack, pytest.mark.django_db]


def test_a_stale_push_of_the_deleted_account_leaves_the_new_mailbox_working(
    stack, monkeypatch, domain_a, make_account
):
    from django.contrib.auth.hashers import make_password

    domain_sync.domain_push(domain_id=domain_a.pk)
    backend = get_backend()
    old = make_account(domain_a, "again")
    sync.account_push(account_id=old.pk)
    assert imap_ok(stack, "again@a.example")
    services.account_update(
        account=EmailAccount.objects.get(pk=old.pk), values={"daily_send_limit": 900}
    )

    created = []

    def delete_and_create_again():
        services.account_deactivate(account=EmailAccount.objects.get(pk=old.pk))
        sync.account_push(account_id=old.pk)
        services.account_delete(account=EmailAccount.objects.get(pk=old.pk))
        sync.account_push(account_id=old.pk)
        new = services.account_create(
            domain=domain_a,
            local_part="again",
            first_name="New",
            last_name="Owner",
            password_hash=make_password(PASSWORD),  # a new salt: a hash of its own
            options={},
        )
        sync.account_push(account_id=new.pk)
        created.append(new)

    land_late(backend, monkeypatch, delete_and_create_again)
    sync.account_push(account_id=old.pk)  # the old row's v3, built before the delete

    new = EmailAccount.objects.select_related("user").get(pk=created[0].pk)
    with backend.connect() as db:
        held = db.execute(
            "SELECT account_id, version, password, send_limit FROM mailbox WHERE address = ?",
            ("again@a.example",),
        ).fetchone()
    assert held is not None, "the stale push removed the new mailbox"
    assert held[:2] == (new.pk, new.desired_version)
    assert held[2] == dovecot_password(new.user.password) and held[3] != 900
    assert imap_ok(stack, "again@a.example")
    send(stack, "someone@outside.test", "again@a.example", "for the new owner")
    wait_subject(stack, "again@a.example", "for the new owner")
    assert EmailAccount.objects.get(pk=created[0].pk).status == "online"


def test_deleting_a_mailbox_never_written_to_and_one_with_mail(stack, domain_a, make_account):
    """Dovecot creates a home lazily: a mailbox nobody wrote to has none, and its deletion
    is done, not an error; a home with mail is really gone afterwards."""
    domain_sync.domain_push(domain_id=domain_a.pk)
    backend = get_backend()
    (host,) = backend.hosts()
    empty, full = make_account(domain_a, "unused1"), make_account(domain_a, "used1")
    for account in (empty, full):
        sync.account_push(account_id=account.pk)
    send(stack, "someone@outside.test", "used1@a.example", "kept until deleted")
    wait_subject(stack, "used1@a.example", "kept until deleted")
    assert host.exists(str(backend.home("used1@a.example")))
    assert not host.exists(str(backend.home("unused1@a.example")))
    for account in (empty, full):
        services.account_deactivate(account=EmailAccount.objects.get(pk=account.pk))
        sync.account_push(account_id=account.pk)
        services.account_delete(account=EmailAccount.objects.get(pk=account.pk))
        sync.account_push(account_id=account.pk)  # raises if a host could not delete
        assert not EmailAccount.objects.filter(pk=account.pk).exists()
    assert not backend.home("used1@a.example").exists()
