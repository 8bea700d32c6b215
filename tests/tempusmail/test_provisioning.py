"""tempusmail.provisioning: a push is sent after commit, and a broker that is down is logged for
the reconciler; mark_applied records a pushed version for that row only, never an older one
over a newer, and a success clears the row's last error."""

from django.utils import timezone

from accounts.models import EmailAccount
from tempusmail.provisioning import enqueue_on_commit, mark_applied


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
    """A stand-in Celery task: records what it was sent, or fails like a broker that is down."""

    name = "accounts.push_account"

    def __init__(self, fails: bool = False) -> None:
        self.sent: list[int] = []
        self.fails = fails

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
