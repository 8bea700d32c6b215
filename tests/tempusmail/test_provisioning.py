"""tempusmail.provisioning: a push is sent after commit, and a broker that is down is logged for
the reconciler; a failed push records its error on the row and retries with backoff; the
reconciler sends again the rows left unapplied; mark_applied records a pushed version for that
row only, never an older one over a newer, and a success clears the row's last error."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.models import EmailAccount
from tempusmail import provisioning
from tempusmail.provisioning import enqueue_on_commit, mark_applied, pending, reenqueue, run_push


def test_a_pushed_version_is_recorded_and_clears_the_error(account_a, domain_a, make_account):
    other = make_account(domain_a, "other")
    EmailAccount.objects.filter(pk__in=[account_a.pk, other.pk]).update(
        applied_version=0, last_error="directory away", last_error_at=timezone.now()
    )
    assert mark_applied(EmailAccount, pk=account_a.pk, version=3) is True
    account_a.refresh_from_db()
    assert (account_a.applied_version, account_a.last_error, account_a.last_error_at) == (
        3,
        "",
        None,
    )
    other.refresh_from_db()  # another row is not touched
    assert (other.applied_version, other.last_error) == (0, "directory away")


def test_an_older_or_the_same_version_is_not_recorded(account_a):
    EmailAccount.objects.filter(pk=account_a.pk).update(applied_version=5, last_error="late")
    assert mark_applied(EmailAccount, pk=account_a.pk, version=4) is False
    assert mark_applied(EmailAccount, pk=account_a.pk, version=5) is False
    account_a.refresh_from_db()
    assert (account_a.applied_version, account_a.last_error) == (5, "late")


class Task:
    """A stand-in Celery task: records what it was sent, or fails like a broker that is down;
    `retry` gives back what Celery's would raise, with its arguments."""

    name = "accounts.push_account"

    def __init__(self, fails: bool = False, retries: int = 0) -> None:
        self.sent: list[int] = []
        self.fails = fails
        self.request = SimpleNamespace(retries=retries)

    def retry(self, *, exc, countdown):
        return Retry(exc, countdown)

    def delay(self, pk: int) -> None:
        if self.fails:
            raise ConnectionError("broker down")
        self.sent.append(pk)


def test_the_push_of_that_row_is_sent_after_commit(db, django_capture_on_commit_callbacks):
    task = Task()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(task, 7)
        assert task.sent == []  # not before the row is committed
    assert task.sent == [7]


def test_a_broker_that_is_down_is_logged_not_raised(db, django_capture_on_commit_callbacks, caplog):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(Task(fails=True), 7)
    assert [r.getMessage() for r in caplog.records if r.name == "tempusmail.provisioning"] == [
        "could not enqueue accounts.push_account(7); the reconciler will retry"
    ]


def test_pushes_inside_batched_pushes_are_sent_as_batches_after_commit(
    db, django_capture_on_commit_callbacks
):
    """A bulk job's pushes: each batch task gets the ids in order, at most `size` at a time,
    each id once; a task without a batch form, and any push after the block, go one by one."""
    single, batch, other = Task(), Task(), Task()
    with django_capture_on_commit_callbacks(execute=True):
        with provisioning.batched_pushes({single: batch}, size=2):
            for pk in (9, 3, 5, 3):
                enqueue_on_commit(single, pk)
            enqueue_on_commit(other, 7)
        assert batch.sent == []  # not before the rows are committed
        enqueue_on_commit(single, 11)
    assert batch.sent == [[3, 5], [9]]
    assert single.sent == [11]
    assert other.sent == [7]


def test_a_batch_holds_500_pushes_by_default(db, django_capture_on_commit_callbacks):
    single, batch = Task(), Task()
    with (
        django_capture_on_commit_callbacks(execute=True),
        provisioning.batched_pushes({single: batch}),
    ):
        for pk in range(1, 502):
            enqueue_on_commit(single, pk)
    assert batch.sent == [list(range(1, 501)), [501]]


def test_several_rows_record_each_its_own_version_never_an_older_one(
    account_a, domain_a, make_account
):
    bob, cleo, dan = (make_account(domain_a, name) for name in ("bob", "cleo", "dan"))
    EmailAccount.objects.filter(pk__in=[account_a.pk, bob.pk, cleo.pk, dan.pk]).update(
        applied_version=4, last_error="directory away", last_error_at=timezone.now()
    )

    marked = provisioning.mark_applied_many(
        EmailAccount, {account_a.pk: 6, bob.pk: 5, cleo.pk: 3, dan.pk: 4}
    )

    assert marked == {account_a.pk, bob.pk}
    rows = EmailAccount.objects.filter(pk__in=[account_a.pk, bob.pk, cleo.pk, dan.pk])
    assert {pk: (v, e) for pk, v, e in rows.values_list("pk", "applied_version", "last_error")} == {
        account_a.pk: (6, ""),
        bob.pk: (5, ""),
        cleo.pk: (4, "directory away"),  # pushed 3: older than what was applied
        dan.pk: (4, "directory away"),  # pushed 4: already recorded
    }
    assert EmailAccount.objects.get(pk=bob.pk).last_error_at is None


class Retry(Exception):
    def __init__(self, exc, countdown):
        super().__init__(exc, countdown)
        self.exc, self.countdown = exc, countdown


def test_a_push_that_works_records_nothing(account_a):
    calls = []
    run_push(Task(), EmailAccount, account_a.pk, lambda: calls.append("pushed"))
    account_a.refresh_from_db()
    assert calls == ["pushed"] and account_a.last_error == "" and account_a.last_error_at is None


def fail(message: str):
    def push():
        raise OSError(message)

    return push


@pytest.mark.parametrize(("retries", "countdown"), [(0, 2), (3, 16), (7, 256), (8, 300)])
def test_a_failed_push_records_its_error_on_that_row_and_retries_later_each_time(
    account_a, domain_a, make_account, retries, countdown
):
    other = make_account(domain_a, "other")
    before = timezone.now()
    with pytest.raises(Retry) as retried:
        run_push(Task(retries=retries), EmailAccount, account_a.pk, fail("directory away"))
    assert retried.value.countdown == countdown
    assert isinstance(retried.value.exc, OSError) and retried.value.__cause__ is retried.value.exc
    account_a.refresh_from_db()
    assert account_a.last_error == "OSError: directory away"
    assert before <= account_a.last_error_at <= timezone.now()
    other.refresh_from_db()
    assert (other.last_error, other.last_error_at) == ("", None)


def test_an_error_is_kept_to_2000_characters(account_a):
    with pytest.raises(Retry):
        run_push(Task(), EmailAccount, account_a.pk, fail("x" * 3000))
    account_a.refresh_from_db()
    assert account_a.last_error == ("OSError: " + "x" * 3000)[:2000]


def test_a_push_without_a_row_still_retries(account_a):
    with pytest.raises(Retry):
        run_push(Task(), None, account_a.pk, fail("gone"))
    account_a.refresh_from_db()
    assert account_a.last_error == ""


@pytest.fixture
def now(monkeypatch, settings):
    """A fixed clock; a change waits 60 s before the reconciler sends it again."""
    settings.RECONCILE_AFTER_SECONDS = 60
    moment = timezone.now()
    monkeypatch.setattr(provisioning.timezone, "now", lambda: moment)
    return moment


def rows(domain, make_account, now, **cases):
    """One account per case: (applied_version, desired_version, seconds since the change,
    seconds since the last error or None)."""
    made = {}
    for name, (applied, desired, changed, failed) in cases.items():
        account = make_account(domain, name)
        EmailAccount.objects.filter(pk=account.pk).update(
            applied_version=applied,
            desired_version=desired,
            changed_at=now - timedelta(seconds=changed),
            last_error_at=None if failed is None else now - timedelta(seconds=failed),
        )
        made[name] = account.pk
    return made


def test_pending_is_what_waited_too_long_unless_it_is_still_retrying(
    plan, domain_a, make_account, now
):
    plan.max_accounts = 10
    plan.save()
    pk = rows(
        domain_a,
        make_account,
        now,
        waited=(1, 2, 61, None),
        retries_spent=(1, 2, 600, 61),
        waited_exactly_the_time=(1, 2, 60, None),
        fresh=(1, 2, 59, None),
        applied=(2, 2, 600, None),
        newer_applied=(3, 2, 600, None),
        still_retrying=(1, 2, 600, 59),
        failed_exactly_the_time_ago=(1, 2, 600, 60),
    )
    assert set(pending(EmailAccount).values_list("pk", flat=True)) == {
        pk["waited"],
        pk["retries_spent"],
    }
    narrowed = EmailAccount.objects.exclude(pk=pk["waited"])
    assert list(pending(EmailAccount, queryset=narrowed).values_list("pk", flat=True)) == [
        pk["retries_spent"]
    ]


def test_the_reconciler_sends_each_pending_row_again_up_to_the_limit(domain_a, make_account, now):
    pk = rows(domain_a, make_account, now, a=(1, 2, 61, None), b=(1, 2, 61, None))
    rows(domain_a, make_account, now, done=(2, 2, 61, None))
    task = Task()
    sent = reenqueue(EmailAccount, task, limit=5)
    assert sorted(sent) == sorted(task.sent) == sorted(pk.values())
    task = Task()
    sent = reenqueue(EmailAccount, task, limit=1)
    assert len(sent) == 1 and task.sent == sent and sent[0] in pk.values()
    task = Task()
    only_b = EmailAccount.objects.filter(pk=pk["b"])
    assert reenqueue(EmailAccount, task, limit=5, queryset=only_b) == [pk["b"]] == task.sent
