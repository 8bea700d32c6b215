"""The provisioning pipeline: stale pushes never win, failures retry with backoff and show."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services, sync, tasks
from accounts.models import EmailAccount
from accounts.tasks import push_account
from tempusmail.mailbackend import BackendError
from tempusmail.provisioning import mark_applied
from tests.conftest import wait_until


def delay_first_apply(backend, monkeypatch, meanwhile):
    """Make the first push slow: `meanwhile()` runs after its state was built, before it lands."""
    original = backend.apply_accounts
    fired = []

    def slow_apply(states):
        if not fired:
            fired.append(states[0].version)
            meanwhile()
        return original(states)

    monkeypatch.setattr(backend, "apply_accounts", slow_apply)
    return fired


def test_a_stale_push_never_overwrites_a_newer_one(memory_backend, monkeypatch, account_a, reload):
    def newer_change_pushed_first():
        services.account_update(account=reload(account_a), values={"quota_mb": 5120})
        sync.account_push(account_id=account_a.pk)  # v2 lands first

    fired = delay_first_apply(memory_backend, monkeypatch, newer_change_pushed_first)
    sync.account_push(account_id=account_a.pk)  # built v1, lands after v2
    assert fired == [1]

    held = memory_backend.accounts["alice@a.example"]
    assert held.version == 2 and held.quota_bytes == 5120 * 1024 * 1024
    account = reload(account_a)
    assert (account.desired_version, account.applied_version) == (2, 2)
    assert account.status == "online"


def test_a_stale_state_recorded_late_does_not_lower_applied_version(
    memory_backend, account_a, reload
):
    services.account_update(account=reload(account_a), values={"spam_to_inbox": True})
    sync.account_push(account_id=account_a.pk)
    assert mark_applied(EmailAccount, pk=account_a.pk, version=1) is False
    assert reload(account_a).applied_version == 2


def test_a_stale_push_does_not_bring_back_a_deleted_mailbox(
    memory_backend, monkeypatch, account_a, reload
):
    def deactivated_and_deleted_meanwhile():
        services.account_deactivate(account=reload(account_a))
        sync.account_push(account_id=account_a.pk)
        services.account_delete(account=reload(account_a))
        sync.account_push(account_id=account_a.pk)  # mailbox removed, row gone

    sync.account_push(account_id=account_a.pk)
    delay_first_apply(memory_backend, monkeypatch, deactivated_and_deleted_meanwhile)
    services.account_update(account=reload(account_a), values={"quota_mb": 5120})
    sync.account_push(account_id=account_a.pk)  # v2 (active) built before the delete

    assert not EmailAccount.objects.filter(pk=account_a.pk).exists()
    assert "alice@a.example" not in memory_backend.accounts


def test_a_failing_push_retries_and_records_the_error(
    memory_backend, monkeypatch, account_a, reload
):
    attempts = []

    def broken(states):
        attempts.append(states[0].version)
        raise BackendError("mail directory unavailable")

    monkeypatch.setattr(memory_backend, "apply_accounts", broken)
    result = push_account.apply(args=[account_a.pk])  # eager: retries run at once
    assert result.failed()
    assert len(attempts) == 1 + push_account.max_retries
    account = reload(account_a)
    assert account.last_error == "BackendError: mail directory unavailable"
    assert account.last_error_at is not None and account.status == "updating"

    monkeypatch.undo()
    push_account.apply(args=[account_a.pk])
    account = reload(account_a)
    assert account.status == "online" and account.last_error == ""


def test_staff_see_the_last_error_in_the_admin(staff_client, account_a, account_b):
    EmailAccount.objects.filter(pk=account_a.pk).update(last_error="BackendError: disk full")
    changelist = reverse("admin:accounts_emailaccount_changelist")
    html = staff_client.get(changelist).content.decode()
    assert "BackendError: disk full" in html
    html = staff_client.get(changelist, {"status": "error"}).content.decode()
    assert "alice@a.example" in html and "bob@b.example" not in html
    html = staff_client.get(
        reverse("admin:accounts_emailaccount_change", args=[account_a.pk])
    ).content.decode()
    assert "BackendError: disk full" in html


@pytest.mark.worker
def test_retries_back_off_exponentially_and_heal_with_a_real_worker(
    start_worker, tmp_path, staff_client, domain_a, make_account
):
    flag = tmp_path / "mail-system-down"
    flag.touch()
    worker = start_worker(
        env={
            "MAIL_BACKEND": "tests.accounts.failing_backend.FailingBackend",
            "FAILING_BACKEND_FLAG": str(flag),
        }
    )
    account = make_account(domain_a, "carol")

    def retries():
        return [int(s) for s in re.findall(r"Retry in (\d+)s", worker.log_path.read_text())]

    wait_until(lambda: len(retries()) >= 2, timeout=40, what="two retries in the worker log")
    assert retries()[:2] == [2, 4]  # exponential backoff
    account.refresh_from_db()
    assert "mail directory unavailable" in account.last_error
    assert account.status == "updating"
    html = staff_client.get(reverse("admin:accounts_emailaccount_changelist")).content.decode()
    assert "mail directory unavailable" in html

    flag.unlink()  # the mail system is back: the next retry succeeds
    wait_until(
        lambda: EmailAccount.objects.get(pk=account.pk).status == "online",
        timeout=40,
        what="carol Online after the mail system came back",
    )
    assert EmailAccount.objects.get(pk=account.pk).last_error == ""


def test_the_reconciler_picks_what_waited_too_long_and_is_not_failing(
    domain_a, make_account, settings
):
    settings.RECONCILE_AFTER_SECONDS = 60
    old = timezone.now() - timedelta(minutes=2)
    late, fresh, done, failing = (make_account(domain_a, n) for n in ("late", "fresh", "done", "x"))
    EmailAccount.objects.filter(pk__in=[late.pk, done.pk, failing.pk]).update(changed_at=old)
    EmailAccount.objects.filter(pk=done.pk).update(applied_version=1)
    # still retrying with backoff after a recent failure: the retry chain owns it
    EmailAccount.objects.filter(pk=failing.pk).update(
        last_error="BackendError: x", last_error_at=timezone.now()
    )
    assert tasks.reconcile() == [late.pk]


def test_one_batch_push_applies_its_accounts_removes_a_deleted_one_and_skips_pending(
    memory_backend, monkeypatch, org_a, domain_a, make_account, plan, reload
):
    from tests.conftest import make_domain

    plan.max_accounts = 10
    plan.save()
    bob, cleo, gone = (make_account(domain_a, name) for name in ("bob", "cleo", "gone"))
    waiting = make_account(make_domain(org_a, "pending.example", verified=False), "wait")
    tasks.push_account.apply(args=[gone.pk])
    services.account_deactivate(account=reload(gone))
    services.account_delete(account=reload(gone))
    memory_backend.calls.clear()

    tasks.push_accounts.apply(args=[[bob.pk, cleo.pk, gone.pk, waiting.pk]])

    assert [reload(a).status for a in (bob, cleo)] == ["online", "online"]
    assert set(memory_backend.accounts) == {"bob@a.example", "cleo@a.example"}
    assert ("apply_accounts", "bob@a.example,cleo@a.example") in memory_backend.calls
    assert not EmailAccount.objects.filter(pk=gone.pk).exists()
    assert reload(waiting).status != "online"  # its domain's verification will push it


def test_a_failing_batch_push_shows_the_error_on_each_of_its_accounts(
    memory_backend, monkeypatch, account_a, domain_a, make_account, reload
):
    bob = make_account(domain_a, "bob")

    def broken(states):
        raise BackendError("mail directory unavailable")

    monkeypatch.setattr(memory_backend, "apply_accounts", broken)
    assert tasks.push_accounts.apply(args=[[account_a.pk, bob.pk]]).failed()
    for account in (reload(account_a), reload(bob)):
        assert account.last_error == "BackendError: mail directory unavailable"
        assert account.status == "updating"


def test_a_batch_push_reads_its_accounts_in_the_same_queries_whatever_their_number(
    memory_backend, domain_a, make_account, plan
):
    """A batch of 500 is one task: its reads (the login, the domain, the aliases and their
    domains) are one query each, not one per account."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Alias

    plan.max_accounts = 10
    plan.save()
    accounts = [make_account(domain_a, name) for name in ("bob", "cleo", "dan", "eve")]
    for account in accounts:
        Alias.objects.create(
            organization_id=account.organization_id,
            account=account,
            domain=domain_a,
            local_part=f"{account.local_part}.x",
            address=f"{account.local_part}.x@a.example",
        )

    def queries(batch) -> int:
        with CaptureQueriesContext(connection) as captured:
            sync.accounts_push(account_ids=[a.pk for a in batch])
        return len(captured)

    assert queries(accounts[:1]) == queries(accounts[1:])
    assert memory_backend.accounts["eve@a.example"].aliases == ("eve.x@a.example",)
