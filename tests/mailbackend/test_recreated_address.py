"""A mailbox deleted and created again on the same address (issue 15, item 5): the new row
starts again at version 1, so a version alone cannot tell an old push from a new one. The
mail directory holds the row's identity with the version; a stale push of the deleted
account, landing after the new one, neither overwrites nor removes the new mailbox."""

import pytest

from accounts import services, sync
from accounts.models import EmailAccount
from tempusmail.mailbackend import get_backend

pytestmark = pytest.mark.django_db


def land_late(backend, monkeypatch, meanwhile):
    """The next push builds its state, then `meanwhile()` runs, then the state lands."""
    original = backend.apply_accounts
    fired = []

    def late(states):
        if not fired:
            fired.append((states[0].identity, states[0].version))
            meanwhile()
        return original(states)

    monkeypatch.setattr(backend, "apply_accounts", late)
    return fired


def delete_and_create_again(account, make_account):
    services.account_deactivate(account=EmailAccount.objects.get(pk=account.pk))
    sync.account_push(account_id=account.pk)
    services.account_delete(account=EmailAccount.objects.get(pk=account.pk))
    sync.account_push(account_id=account.pk)  # mailbox purged, row gone
    assert not EmailAccount.objects.filter(pk=account.pk).exists()
    again = make_account(account.domain, "alice", quota_mb=10240)
    sync.account_push(account_id=again.pk)
    return again


def test_a_stale_push_of_the_deleted_account_leaves_the_new_mailbox(
    directory, monkeypatch, domain_a, make_account
):
    backend = get_backend()
    old = make_account(domain_a, "alice", quota_mb=1024)
    sync.account_push(account_id=old.pk)
    for _ in range(3):  # the old row reaches a version the new one will not have soon
        services.account_update(
            account=EmailAccount.objects.get(pk=old.pk),
            values={"daily_send_limit": 700 + _},
        )
    created = []
    fired = land_late(
        backend, monkeypatch, lambda: created.append(delete_and_create_again(old, make_account))
    )
    sync.account_push(account_id=old.pk)  # built v4 of the old row, lands after the new one

    new = created[0]
    assert fired == [(old.pk, 4)] and new.pk != old.pk
    row = directory.mailbox("alice@a.example")
    assert row is not None, "the stale push removed the new mailbox"
    assert (row["account_id"], row["version"]) == (new.pk, 1)
    assert row["quota_bytes"] == 10240 * 1024 * 1024 and row["send_limit"] != 702
    assert EmailAccount.objects.get(pk=new.pk).status == "online"

    # The old row's late removal (its push found the row gone) spares the new one too.
    monkeypatch.undo()
    backend.remove_account("alice@a.example", identity=old.pk)
    assert directory.mailbox("alice@a.example")["account_id"] == new.pk
    backend.remove_account("alice@a.example", identity=new.pk)
    assert directory.mailbox("alice@a.example") is None


def test_a_late_copy_of_a_removal_leaves_the_mailbox_created_again(
    directory, monkeypatch, domain_a, make_account
):
    """The push of a deleted account runs twice (a redelivered task): the first removes the
    mailbox and the row, the address is created again and pushed, then the second copy's
    removal lands; it names the old row, so the new mailbox stays."""
    backend = get_backend()
    old = make_account(domain_a, "alice", quota_mb=1024)
    sync.account_push(account_id=old.pk)
    services.account_deactivate(account=EmailAccount.objects.get(pk=old.pk))
    sync.account_push(account_id=old.pk)
    services.account_delete(account=EmailAccount.objects.get(pk=old.pk))
    remove_account, created = backend.remove_account, []

    def late(address, *, identity=0):
        if not created:
            created.append(None)
            sync.account_push(account_id=old.pk)  # the first copy: mailbox and row gone
            created[0] = make_account(domain_a, "alice", quota_mb=10240)
            sync.account_push(account_id=created[0].pk)
        return remove_account(address, identity=identity)

    monkeypatch.setattr(backend, "remove_account", late)
    sync.account_push(account_id=old.pk)

    row = directory.mailbox("alice@a.example")
    assert row is not None, "the late removal took the new mailbox"
    assert (row["account_id"], row["active"]) == (created[0].pk, 1)
    assert EmailAccount.objects.get(pk=created[0].pk).status == "online"


def test_the_memory_backend_compares_identities_too(
    memory_backend, monkeypatch, domain_a, make_account
):
    old = make_account(domain_a, "alice", quota_mb=1024)
    sync.account_push(account_id=old.pk)
    services.account_update(
        account=EmailAccount.objects.get(pk=old.pk), values={"daily_send_limit": 900}
    )
    created = []
    land_late(
        memory_backend,
        monkeypatch,
        lambda: created.append(delete_and_create_again(old, make_account)),
    )
    sync.account_push(account_id=old.pk)
    held = memory_backend.accounts["alice@a.example"]
    assert (held.identity, held.version) == (created[0].pk, 1)
    assert held.quota_bytes == 10240 * 1024 * 1024


def test_a_directory_of_an_older_release_gains_the_identity_column(directory):
    """Rows written before identities were carried hold 0: versions alone decide for them."""
    directory.query("SELECT account_id FROM mailbox")  # the column exists after init
    from tempusmail.mailbackend.base import is_stale

    assert is_stale(held=(0, 5), pushed=(7, 4))
    assert not is_stale(held=(0, 5), pushed=(7, 5))
    assert is_stale(held=(8, 1), pushed=(7, 9))
    assert not is_stale(held=(7, 9), pushed=(8, 1))
