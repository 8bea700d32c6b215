"""A bulk job survives its worker's death (issue 15, item 1), with real worker processes.

The test holds a row lock on one account, so the worker blocks in the middle of the job (in
chunks of two accounts here: the chunks before it done, recorded), then kills the worker
outright (SIGKILL, its pool with it): no goodbye, the message unacknowledged. A new worker
and the reconciler's resume finish the job; every account changed exactly once."""

import os
import signal
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from accounts import bulk
from accounts.models import BulkJob, EmailAccount
from domains.access import get_domain_for
from security.models import AuditEvent
from tests.conftest import wait_until

pytestmark = [pytest.mark.worker]


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found += [int(p) for p in text.split()]
    return found


def test_a_job_survives_a_killed_worker(start_worker, owner, domain_a, plan, make_account):
    if connection.vendor != "postgresql":
        pytest.skip("the row lock that pauses the worker needs PostgreSQL")
    plan.max_accounts = 50
    plan.save()
    accounts = [make_account(domain_a, f"user{n:02d}") for n in range(8)]
    chunks_of_two = {"BULK_CHUNK_SIZE": "2"}
    worker = start_worker(concurrency=1, env=chunks_of_two)
    wait_until(
        lambda: all(a.status == "online" for a in EmailAccount.objects.select_related("domain")),
        timeout=60,
        what="the accounts Online",
    )
    blocker = accounts[4]  # user04: the worker stops there
    db = connection.settings_dict
    lock = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    )
    # NO KEY UPDATE: the worker's UPDATE of that account waits; the job's items, which refer
    # to the account (a key share at commit), do not.
    lock.execute(
        "SELECT id FROM accounts_emailaccount WHERE id = %s FOR NO KEY UPDATE", (blocker.pk,)
    ).fetchall()
    domain = get_domain_for(owner, domain_a.pk)
    job = bulk.bulk_start(
        user=owner, domain=domain, kind="storage", params={"quota_mb": 5120}, q="user"
    )
    wait_until(lambda: BulkJob.objects.get(pk=job.pk).done == 4, timeout=60, what="4 accounts done")
    for pid in [*children(worker.pid), worker.pid]:
        os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=10)
    lock.rollback()
    lock.close()
    stalled = BulkJob.objects.get(pk=job.pk)
    assert (stalled.state, stalled.total, stalled.done) == ("running", 8, 4)
    assert EmailAccount.objects.filter(quota_mb=5120).count() == 4

    start_worker(concurrency=1, env=chunks_of_two)

    def resumed_and_done():
        # What the reconciler does every 30 s, here every second: a job whose progress
        # stood still is sent again (the killed worker's transaction may take a moment to
        # be rolled back by PostgreSQL, its item skipped until then).
        if BulkJob.objects.get(pk=job.pk).state == "done":
            return True
        bulk.resume_stalled(older_than=1)
        return False

    wait_until(resumed_and_done, timeout=60, interval=1, what="the job resumed and done")
    finished = BulkJob.objects.get(pk=job.pk)
    assert (finished.done, finished.failed) == (8, 0)
    assert EmailAccount.objects.filter(quota_mb=5120).count() == 8
    changed = AuditEvent.objects.filter(action="account.update").values_list(
        "object_repr", flat=True
    )
    assert sorted(changed) == sorted(a.address for a in accounts)  # each exactly once
