"""Faults: the mail directory away for a while under 200+ changes, the worker killed while a
push is running (held inside the adapter by the directory's lock), the broker down at save
time. Every account must end Online with verify_backend reporting no drift: nothing lost,
nothing stale."""

import contextlib
import io
import os
import socket
import sqlite3

import pytest
from django.core.management import call_command

from accounts import services, tasks
from accounts.models import EmailAccount
from domains import services as domain_services
from domains.models import Organization, Plan
from tempusmail.celery import app
from tests.conftest import wait_until

from .conftest import imap_ok, wait_online

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]


def verify(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("verify_backend", *args, stdout=out, stderr=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def pushes_in_flight() -> list[dict]:
    """The push tasks our mailstack worker is running now (as it reports them itself)."""
    worker = f"mailstack-{os.getpid()}@{socket.gethostname()}"
    active = app.control.inspect(destination=[worker], timeout=1).active() or {}
    return [t for t in active.get(worker, []) if t["name"] == "accounts.tasks.push_account"]


def models_F():
    from django.db.models import F

    return F("desired_version")


@contextlib.contextmanager
def broker_down():
    """Point this process's Celery producer at a port where no broker listens."""
    saved = os.environ.get("CELERY_BROKER_URL"), app._pool, app.amqp._producer_pool
    os.environ["CELERY_BROKER_URL"] = "redis://127.0.0.1:9/0"  # Celery reads it before conf
    app._pool, app.amqp._producer_pool = None, None
    try:
        yield
    finally:
        dead = app._pool
        url, app._pool, app.amqp._producer_pool = saved
        if url is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = url
        if dead is not None:
            dead.force_close_all()


@pytest.fixture
def big_domain(db):
    plan = Plan.objects.create(
        name="Faults",
        max_domains=2,
        max_accounts=50,
        storage_options_mb=[1024, 2048, 5120],
        services=["pop", "imap", "smtp", "webmail"],
        default_daily_send_limit=100,
        max_daily_send_limit=1000,
    )
    org = Organization.objects.create(name="Faults Inc", plan=plan)
    return domain_services.domain_create(organization=org, name="faults.example")


def test_verify_backend_reports_drift_and_repairs_it(stack, mail_worker, domain_a, make_account):
    account = make_account(domain_a, "verify1")
    wait_online(account)
    assert verify() == (0, "no drift\n")
    from tempusmail.mailbackend.dovecot import DovecotBackend

    with DovecotBackend().connect() as db, db.transaction():
        db.execute("UPDATE mailbox SET quota_bytes = 1 WHERE address = ?", (account.address,))
    code, out = verify()
    assert code == 1
    assert "verify1@a.example: quota_bytes differs" in out
    code, out = verify("--repair")
    assert code == 1 and "re-enqueued 1 account(s)" in out
    wait_online(account)
    assert verify() == (0, "no drift\n")


def test_outage_killed_worker_and_broker_down_end_online_without_drift(
    stack, mail_worker, big_domain, make_account, settings, caplog
):
    settings.RECONCILE_AFTER_SECONDS = 1
    accounts = [make_account(big_domain, f"fault{i}") for i in range(10)]
    for account in accounts:
        wait_online(account)

    # 1. The mail directory goes away for a while; 200 changes are made meanwhile.
    path = stack.mail_root / "directory.db"
    os.rename(path, path.with_suffix(".away"))
    try:
        changes = 0
        for round_ in range(20):
            for account in accounts:
                account.refresh_from_db()
                services.account_update(
                    account=account,
                    values={
                        "daily_send_limit": 100 + round_,
                        "quota_mb": [1024, 2048, 5120][round_ % 3],
                        "spam_to_inbox": bool(round_ % 2),
                    },
                )
                changes += 1
        assert changes >= 200
        wait_until(  # the pushes fail and retry meanwhile
            lambda: EmailAccount.objects.filter(last_error__contains="unavailable").exists(),
            what="a push to fail on the missing directory",
        )
    finally:
        os.rename(path.with_suffix(".away"), path)

    # 2. The worker is killed in the middle of pushing more changes: the directory's write
    # lock is held, so pushes wait inside the adapter until the worker reports one running.
    lock = sqlite3.connect(path, timeout=30, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        for account in accounts:
            account.refresh_from_db()
            services.account_update(account=account, values={"forward_to": ["x@outside.test"]})
        in_flight = wait_until(pushes_in_flight, what="a push running in the worker")
        mail_worker.kill()
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    killed = EmailAccount.objects.filter(pk__in=[t["args"][0] for t in in_flight])
    assert all(a.applied_version < a.desired_version for a in killed)  # not recorded: in flight
    for account in accounts[:5]:
        account.refresh_from_db()
        services.account_update(account=account, values={"forward_to": []})
    mail_worker.start()

    # 3. The broker is down while a change is saved: the save succeeds, the push is lost.
    last = accounts[-1]
    last.refresh_from_db()
    with broker_down(), caplog.at_level("WARNING", logger="tempusmail.provisioning"):
        services.account_update(account=last, values={"daily_send_limit": 999})
    assert f"could not enqueue accounts.tasks.push_account({last.pk})" in caplog.text

    def healed():
        tasks.reconcile()
        return not EmailAccount.objects.filter(
            applied_version__lt=models_F(), organization=big_domain.organization
        ).exists()

    wait_until(healed, timeout=120, interval=1, what="every account Online again")
    assert verify() == (0, "no drift\n")
    last.refresh_from_db()
    assert last.daily_send_limit == 999
    assert imap_ok(stack, "fault0@faults.example")
