"""The domain list's accounts count and storage used are counters on Domain (issue 15, item 4:
a domain list whose SQL does not grow with the mailboxes). They must stay equal to what the
accounts say after every change that moves them: create, CSV import, delete, the usage
collector, a bulk action, and next to another organization's pending claim of the name."""

import importlib

import pytest
from django.apps import apps
from django.db.models import Count, Sum
from django.urls import reverse

from accounts import services as account_services
from accounts import sync
from accounts.models import EmailAccount
from domains.models import Domain
from tempusmail.mailbackend.base import Usage
from tests.accounts.test_account_import import GOOD, preview_of, start
from tests.conftest import make_domain

pytestmark = pytest.mark.django_db
MB = 1024 * 1024


def counters(domain) -> tuple[int, int]:
    domain = Domain.objects.get(pk=domain.pk)
    return domain.accounts_count, domain.storage_used_bytes


def recount(domain) -> tuple[int, int]:
    """What the accounts say: those not being deleted, and their storage."""
    totals = EmailAccount.objects.filter(domain=domain, deleting=False).aggregate(
        n=Count("pk"), used=Sum("storage_used_bytes", default=0)
    )
    return totals["n"], totals["used"]


def listed(client, domain) -> str:
    """The domain's row on the domain list, as the user reads it."""
    html = client.get(reverse("domains:list")).content.decode()
    row = html[html.index(reverse("accounts:list", args=[domain.pk])) :]
    return row[: row.index("</tr>")]


def test_create_and_usage_collection_move_the_counters_the_list_shows(
    client_for, owner, domain_a, domain_b, make_account, memory_backend
):
    alice = make_account(domain_a, "alice")
    bruno = make_account(domain_a, "bruno")
    make_account(domain_b, "carla")
    assert counters(domain_a) == (2, 0) and counters(domain_b) == (1, 0)

    memory_backend.usages[alice.address] = Usage(storage_bytes=5 * MB, sent_24h=3)
    memory_backend.usages[bruno.address] = Usage(storage_bytes=2 * MB, sent_24h=0)
    assert sync.collect_usage(batch_size=2) == 3  # batches that cross the two domains
    assert counters(domain_a) == recount(domain_a) == (2, 7 * MB)
    assert counters(domain_b) == (1, 0)
    row = listed(client_for(owner), domain_a)
    assert '<td class="num">2</td>' in row and "7.0\xa0MB" in row

    # Storage shrinks; a figure the mail system could not read keeps its last known value.
    memory_backend.usages[alice.address] = Usage(storage_bytes=1 * MB, sent_24h=3)
    memory_backend.usages[bruno.address] = Usage(storage_bytes=None, sent_24h=None)
    sync.collect_usage()
    assert counters(domain_a) == recount(domain_a) == (2, 3 * MB)
    sync.collect_usage()  # nothing changed: nothing moves
    assert counters(domain_a) == (2, 3 * MB)


def test_a_delete_takes_the_account_off_at_once_and_its_removal_not_twice(
    client_for, owner, domain_a, make_account, memory_backend, run_tasks
):
    with run_tasks():
        alice = make_account(domain_a, "alice")
        make_account(domain_a, "bruno")
    memory_backend.usages[alice.address] = Usage(storage_bytes=4 * MB)
    sync.collect_usage()
    assert counters(domain_a) == (2, 4 * MB)

    client = client_for(owner)
    client.post(reverse("accounts:deactivate", args=[alice.pk]))
    assert counters(domain_a) == (2, 4 * MB)  # deactivated mailboxes still count
    response = client.post(reverse("accounts:delete", args=[alice.pk]))
    assert response.status_code == 302
    assert EmailAccount.objects.filter(pk=alice.pk, deleting=True).exists()
    assert counters(domain_a) == (1, 0)
    assert '<td class="num">1</td>' in listed(client, domain_a)

    # The collector does not count a deleting mailbox back; its removal does not count twice.
    sync.collect_usage()
    assert counters(domain_a) == (1, 0)
    with run_tasks():
        sync.account_push(account_id=alice.pk)
    assert not EmailAccount.objects.filter(pk=alice.pk).exists()
    assert counters(domain_a) == recount(domain_a) == (1, 0)


def test_csv_import_and_a_bulk_action_keep_the_counters(
    client_for, owner, domain_a, plan, run_tasks
):
    plan.max_accounts = 50
    plan.save()
    client = client_for(owner)
    job, _page = preview_of(client, domain_a, GOOD)
    with run_tasks():
        start(client, domain_a, job)
    assert counters(domain_a) == recount(domain_a) == (3, 0)

    with run_tasks():
        client.post(
            reverse("accounts:bulk", args=[domain_a.pk]),
            {"action": "deactivate", "all": "1", "q": ""},
        )
    assert EmailAccount.objects.filter(domain=domain_a, is_active=False).count() == 3
    assert counters(domain_a) == (3, 0)


def test_two_pending_claims_of_one_name_each_count_their_own(
    client_for, owner, admin_b, org_a, org_b, make_account, memory_backend
):
    ours = make_domain(org_a, "shared.example", verified=False)
    theirs = make_domain(org_b, "shared.example", verified=False)  # a claim blocks nobody
    alice = make_account(ours, "alice")
    prepared = make_account(theirs, "prepared")
    memory_backend.usages[alice.address] = Usage(storage_bytes=3 * MB)
    memory_backend.usages[prepared.address] = Usage(storage_bytes=1 * MB)
    sync.collect_usage()
    assert counters(ours) == recount(ours) == (1, 3 * MB)
    assert counters(theirs) == recount(theirs) == (1, 1 * MB)
    assert "3.0\xa0MB" in listed(client_for(owner), ours)
    assert "1.0\xa0MB" in listed(client_for(admin_b), theirs)


def test_the_migration_fills_the_counters_from_the_accounts(domain_a, domain_b, make_account):
    make_account(domain_a, "alice")
    bruno = make_account(domain_a, "bruno")
    EmailAccount.objects.filter(pk=bruno.pk).update(storage_used_bytes=9 * MB)
    gone = make_account(domain_a, "gone")
    EmailAccount.objects.filter(pk=gone.pk).update(deleting=True)
    Domain.objects.update(accounts_count=0, storage_used_bytes=0)

    migration = importlib.import_module("accounts.migrations.0011_domain_counters_fill")
    migration.fill(apps, None)
    assert counters(domain_a) == (2, 9 * MB)
    assert counters(domain_b) == (0, 0)
    account_services.account_deactivate(account=bruno)
    assert counters(domain_a) == recount(domain_a)
