"""Bulk actions on the account list (issue 15, item 1): select rows or all that match the
search, pick an action, watch the job's progress; each account is checked and audited as a
single change would be, and the ones that cannot change are listed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import bulk, services
from accounts.models import BulkJob, BulkJobItem, EmailAccount
from domains.access import get_domain_for
from security.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def roomy(plan):
    plan.max_accounts = 200
    plan.save()
    return plan


@pytest.fixture
def team(roomy, domain_a, make_account):
    """Four accounts of domain A, one of them deactivated; all applied (Online/Offline)."""
    names = ["anna", "bruno", "carla", "dario"]
    accounts = [make_account(domain_a, name) for name in names]
    services.account_deactivate(account=EmailAccount.objects.get(pk=accounts[3].pk))
    EmailAccount.objects.update(applied_version=10**6)
    return accounts


def post_bulk(client, domain, **data):
    return client.post(reverse("accounts:bulk", args=[domain.pk]), data)


def job_of(domain) -> BulkJob:
    return BulkJob.objects.filter(domain=domain).latest("pk")


def test_operator_changes_storage_of_selected_accounts_with_progress(
    client_for, operator, domain_a, team, run_tasks
):
    client = client_for(operator)
    picked = [team[0].pk, team[1].pk, team[3].pk]
    with run_tasks():
        response = post_bulk(client, domain_a, action="storage", quota_mb=5120, ids=picked)
    job = job_of(domain_a)
    assert response.status_code == 302
    assert response["Location"].endswith(f"?job={job.pk}")
    job.refresh_from_db()
    assert (job.state, job.total, job.done, job.failed) == ("done", 3, 2, 1)
    quotas = dict(EmailAccount.objects.values_list("local_part", "quota_mb"))
    assert quotas == {"anna": 5120, "bruno": 5120, "carla": 1024, "dario": 1024}

    page = client.get(response["Location"]).content.decode()
    assert "Change storage" in page and "100%" in page
    assert "2 done, 1 failed, 3 in all" in page
    detail = client.get(reverse("accounts:job", args=[domain_a.pk, job.pk])).content.decode()
    assert "dario@a.example" in detail
    assert "This account is deactivated: reactivate it before changing its settings." in detail
    # Each account changed is audited as one change, by the person who started the job.
    events = AuditEvent.objects.filter(action="account.update", actor=operator)
    assert sorted(events.values_list("object_repr", flat=True)) == [
        "anna@a.example",
        "bruno@a.example",
    ]
    assert set(events.values_list("via", flat=True)) == {"bulk"}


def test_all_matching_the_search_then_the_live_progress_reloads_once_done(
    client_for, owner, domain_a, team, run_tasks
):
    client = client_for(owner)
    with run_tasks():
        post_bulk(client, domain_a, action="send_limit", daily_send_limit=800, all="1", q="ar")
    job = job_of(domain_a)
    # "ar": carla, dario (deactivated: refused, listed)
    assert (job.total, job.done, job.failed) == (2, 1, 1)
    assert EmailAccount.objects.get(local_part="carla").daily_send_limit == 800
    assert EmailAccount.objects.get(local_part="anna").daily_send_limit != 800
    progress = reverse("accounts:job_progress", args=[domain_a.pk, job.pk])
    live = client.get(progress, {"live": "1"})
    assert live["HX-Refresh"] == "true"
    first = client.get(progress)
    assert "HX-Refresh" not in first and "hx-trigger" not in first.content.decode()


def test_a_running_job_polls_its_progress(client_for, owner, domain_a, team):
    client = client_for(owner)
    post_bulk(client, domain_a, action="resync", ids=[team[0].pk])  # no worker runs it
    job = job_of(domain_a)
    html = client.get(reverse("accounts:list", args=[domain_a.pk]), {"job": job.pk})
    html = html.content.decode()
    assert f'id="job-{job.pk}"' in html and 'hx-trigger="every 1s"' in html
    assert "0 done, 0 failed" in html


def test_deactivate_all_then_reactivate(client_for, owner, domain_a, team, run_tasks):
    client = client_for(owner)
    with run_tasks():
        post_bulk(client, domain_a, action="deactivate", all="1")
    job = job_of(domain_a)
    assert (job.done, job.failed) == (4, 0)
    assert not EmailAccount.objects.filter(is_active=True).exists()
    # Dario was already off: nothing changed for him, nothing audited.
    unchanged = BulkJobItem.objects.get(job=job, account=team[3])
    assert unchanged.state == "unchanged"
    assert AuditEvent.objects.filter(action="account.deactivate").count() == 1 + 3
    with run_tasks():
        post_bulk(client, domain_a, action="reactivate", all="1")
    assert EmailAccount.objects.filter(is_active=True).count() == 4


@pytest.mark.parametrize(
    ("who", "action", "status"),
    [
        ("owner", "deactivate", 302),
        ("owner", "storage", 302),
        ("operator", "storage", 302),
        ("operator", "resync", 302),
        ("operator", "deactivate", 403),
        ("operator", "reactivate", 403),
        ("viewer", "storage", 403),
        ("viewer", "resync", 403),
        ("admin_b", "storage", 404),
        ("admin_b", "deactivate", 404),
    ],
)
def test_role_matrix(request, client_for, domain_a, team, run_tasks, who, action, status):
    user = request.getfixturevalue(who)
    with run_tasks():
        response = post_bulk(
            client_for(user), domain_a, action=action, quota_mb=5120, ids=[team[0].pk]
        )
    assert response.status_code == status
    assert BulkJob.objects.exists() is (status == 302)
    if status != 302:
        account = EmailAccount.objects.get(pk=team[0].pk)
        assert account.is_active and account.quota_mb == 1024


def test_another_tenants_accounts_are_never_touched(
    client_for, admin_b, domain_b, account_b, domain_a, team, run_tasks
):
    """Ids of another tenant's accounts, posted to one's own domain, select nothing."""
    client = client_for(admin_b)
    with run_tasks():
        post_bulk(client, domain_b, action="deactivate", ids=[team[0].pk, team[1].pk])
    job = job_of(domain_b)
    assert (job.total, job.done) == (0, 0) and job.state == "done"
    assert EmailAccount.objects.filter(domain=domain_a, is_active=True).count() == 3
    assert client.get(reverse("accounts:job", args=[domain_a.pk, job.pk])).status_code == 404
    other = BulkJob.objects.create(
        organization_id=domain_a.organization_id, domain=domain_a, kind="resync"
    )
    assert client.get(reverse("accounts:job", args=[domain_a.pk, other.pk])).status_code == 404
    assert (
        client.get(reverse("accounts:job_progress", args=[domain_b.pk, other.pk])).status_code
        == 404
    )


def test_a_value_the_plan_or_domain_refuses_starts_nothing(client_for, owner, domain_a, team):
    client = client_for(owner)
    response = post_bulk(client, domain_a, action="send_limit", daily_send_limit=5000, all="1")
    assert response.status_code == 302 and not BulkJob.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "Your plan allows a daily sending limit between 1 and 1000." in page
    response = post_bulk(client, domain_a, action="storage", quota_mb=777, all="1")
    assert not BulkJob.objects.exists()
    response = post_bulk(client, domain_a, action="storage", quota_mb=5120)
    page = client.get(response["Location"]).content.decode()
    assert "Select at least one account." in page and not BulkJob.objects.exists()


def test_services_change_keeps_each_account_within_the_domain(
    client_for, operator, domain_a, team, run_tasks
):
    client = client_for(operator)
    with run_tasks():
        post_bulk(client, domain_a, action="services", services=["imap", "smtp"], all="1")
    job = job_of(domain_a)
    assert (job.done, job.failed) == (3, 1)
    assert EmailAccount.objects.get(pk=team[0].pk).services == ["imap", "smtp"]


def test_a_job_resumes_after_its_worker_died(
    owner, domain_a, team, monkeypatch, run_tasks, settings
):
    """The worker dies in its second chunk of two accounts: the first chunk is recorded, the
    second rolled back and still pending; the reconciler's resume finishes it and no account
    is changed (or audited) twice."""
    domain = get_domain_for(owner, domain_a.pk)
    job = bulk.bulk_start(
        user=owner, domain=domain, kind="storage", params={"quota_mb": 10240}, q=""
    )
    original = bulk._update_outcomes
    chunks = []

    def dies_in_the_second_chunk(job, items, get):
        chunks.append([item.pk for item in items])
        outcomes = original(job, items, get)  # written, but not committed
        if len(chunks) == 2:
            raise SystemExit("worker killed")
        return outcomes

    settings.BULK_CHUNK_SIZE = 2
    monkeypatch.setattr(bulk, "_update_outcomes", dies_in_the_second_chunk)
    with pytest.raises(SystemExit):
        bulk.bulk_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.total, job.done, job.failed) == ("running", 4, 2, 0)
    assert BulkJobItem.objects.filter(job=job, state="pending").count() == 2

    monkeypatch.setattr(bulk, "_update_outcomes", original)
    BulkJob.objects.filter(pk=job.pk).update(updated_at=job.updated_at.replace(year=2000))
    with run_tasks():
        assert bulk.resume_stalled() == [job.pk]
    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == ("done", 3, 1)
    assert EmailAccount.objects.filter(quota_mb=10240).count() == 3
    assert AuditEvent.objects.filter(action="account.update").count() == 3
    assert bulk.resume_stalled(older_than=0) == []  # finished: nothing to resume


def test_job_pages_run_a_constant_number_of_queries(client_for, owner, domain_a, team):
    client = client_for(owner)
    job = BulkJob.objects.create(
        organization_id=domain_a.organization_id,
        domain=domain_a,
        kind="storage",
        state="running",
        created_by=owner,
    )

    def add_failures(n):
        BulkJobItem.objects.bulk_create(
            [
                BulkJobItem(
                    job=job,
                    address=f"x{i}@a.example",
                    state="failed",
                    errors=[{"column": "", "message": "no"}],
                )
                for i in range(n)
            ]
        )

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    urls = [
        reverse("accounts:job", args=[domain_a.pk, job.pk]),
        reverse("accounts:job_progress", args=[domain_a.pk, job.pk]),
        reverse("accounts:list", args=[domain_a.pk]) + f"?job={job.pk}",
    ]
    add_failures(2)
    client.get(urls[0])  # the session is saved once, on the first request
    few = [count(url) for url in urls]
    add_failures(60)
    assert [count(url) for url in urls] == few


def storage_job(owner, domain) -> BulkJob:
    return bulk.bulk_start(
        user=owner,
        domain=get_domain_for(owner, domain.pk),
        kind="storage",
        params={"quota_mb": 5120},
        q="",
    )


def test_a_chunk_of_accounts_is_pushed_by_one_task(
    owner, domain_a, roomy, make_account, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Five accounts in chunks of two: three push tasks, each naming its chunk's accounts
    (one directory transaction each on the worker), none for a single account."""
    from accounts import tasks

    settings.BULK_CHUNK_SIZE = 2
    accounts = [make_account(domain_a, f"user{n}") for n in range(5)]
    job = storage_job(owner, domain_a)
    sent = []
    monkeypatch.setattr(tasks.push_accounts, "delay", lambda ids: sent.append(("batch", ids)))
    monkeypatch.setattr(tasks.push_account, "delay", lambda pk: sent.append(("one", pk)))
    with django_capture_on_commit_callbacks(execute=True):
        bulk.bulk_run(job_id=job.pk)
    ids = sorted(a.pk for a in accounts)
    assert sent == [("batch", ids[0:2]), ("batch", ids[2:4]), ("batch", ids[4:5])]
    assert EmailAccount.objects.filter(quota_mb=5120).count() == 5
    assert AuditEvent.objects.filter(action="account.update").count() == 5


def test_a_chunk_runs_the_same_queries_for_3_or_30_accounts(
    owner, domain_a, roomy, make_account, django_assert_num_queries
):
    def job_for(count: int, prefix: str) -> BulkJob:
        ids = [make_account(domain_a, f"{prefix}{n:02d}").pk for n in range(count)]
        return bulk.bulk_start(
            user=owner,
            domain=get_domain_for(owner, domain_a.pk),
            kind="storage",
            params={"quota_mb": 5120},
            account_ids=ids,
        )

    small, large = job_for(3, "small"), job_for(30, "large")
    with CaptureQueriesContext(connection) as queries:
        bulk.bulk_run(job_id=small.pk)
    with django_assert_num_queries(len(queries)):
        bulk.bulk_run(job_id=large.pk)
    large.refresh_from_db()
    assert (large.state, large.done, large.failed) == ("done", 30, 0)
    assert EmailAccount.objects.filter(quota_mb=5120).count() == 33
