"""The organization's overview (issue 15): what an admin reads there matches the accounts,
domains and sending counters of their organization only, in a fixed number of queries."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailAccount
from domains import sync as domain_sync
from domains.models import Domain, DomainSentDay
from tests.conftest import make_domain

URL = reverse("accounts:dashboard")
MB = 1024 * 1024


def page(client, org) -> str:
    response = client.get(URL, {"org": org.pk})
    assert response.status_code == 200
    return response.content.decode()


def counts(html: str) -> dict[str, int]:
    found = re.findall(r'<li data-status="(\w+)">.*?<strong>(\d+)</strong>', html)
    return {status: int(n) for status, n in found}


@pytest.fixture
def fleet(org_a, plan, domain_a, make_account):
    """Accounts in every state, on a verified and a pending domain."""
    plan.max_accounts = 50
    plan.save()
    online = [make_account(domain_a, f"on{n}") for n in range(3)]
    offline = make_account(domain_a, "off")
    updating = make_account(domain_a, "upd")
    pending = make_domain(org_a, "later.example", verified=False)
    waiting = make_account(pending, "wait")
    applied = [*online, offline]
    for account in applied:
        EmailAccount.objects.filter(pk=account.pk).update(applied_version=10**6)
    EmailAccount.objects.filter(pk=offline.pk).update(is_active=False)
    return {"online": online, "offline": offline, "updating": updating, "waiting": waiting}


def test_accounts_by_status_storage_and_attention(client_for, owner, org_a, domain_a, fleet):
    first, second, third = fleet["online"]
    first.quota_mb = 10240  # past 2^31 bytes at 90 %: PostgreSQL's int4 once overflowed here
    EmailAccount.objects.filter(pk=first.pk).update(
        quota_mb=first.quota_mb, storage_used_bytes=first.quota_mb * MB
    )
    EmailAccount.objects.filter(pk=second.pk).update(
        storage_used_bytes=int(second.quota_mb * MB * 0.95)
    )
    EmailAccount.objects.filter(pk=third.pk).update(storage_used_bytes=third.quota_mb * MB // 2)
    EmailAccount.objects.filter(pk=fleet["updating"].pk).update(
        last_error="quota: doveadm failed", last_error_at=timezone.now()
    )
    html = page(client_for(owner), org_a)
    assert counts(html) == {"online": 3, "updating": 1, "offline": 1, "waiting": 1}

    near = html[html.index('id="near-quota"') :].split("</ul>")[0]
    assert near.index(first.address) < near.index(second.address)  # fullest first
    assert third.address not in near and "Full" in near
    assert "later.example" in html[html.index('id="pending-domains"') :].split("</ul>")[0]
    failed = html[html.index('id="failed-pushes"') :].split("</ul>")[0]
    assert fleet["updating"].address in failed and "quota: doveadm failed" in failed

    storage = html[html.index('id="storage"') :].split("</table>")[0]
    used = (first.quota_mb + second.quota_mb * 0.95 + third.quota_mb * 0.5) * MB
    capacity = sum(a.quota_mb for a in (first, second, third, fleet["offline"], fleet["updating"]))
    assert f'aria-label="{round(100 * used / (capacity * MB))} %"' in storage


def test_messages_sent_per_day_over_30_days(client_for, viewer, org_a, domain_a, memory_backend):
    today = timezone.now().date()
    other = make_domain(org_a, "second.example")
    DomainSentDay.objects.create(domain=domain_a, day=today - timedelta(days=29), count=5)
    DomainSentDay.objects.create(domain=other, day=today - timedelta(days=29), count=2)
    DomainSentDay.objects.create(domain=domain_a, day=today - timedelta(days=30), count=999)
    # Today's figure comes from the mail system's counters, through the collection.
    memory_backend.sent_days[("a.example", today)] = 40
    memory_backend.sent_days[("nowhere.example", today)] = 7  # not a domain of ours
    assert domain_sync.collect_sent_days() == 1
    html = page(client_for(viewer), org_a)  # every member reads the overview
    chart = html[html.index('id="sent-chart"') :].split("</svg>")[0]
    bars = re.findall(r'data-day="([\d-]+)" data-value="(\d+)"', chart)
    assert len(bars) == 30
    assert bars[0] == ((today - timedelta(days=29)).isoformat(), "7")
    assert bars[-1] == (today.isoformat(), "40")
    assert "47 messages in 30 days" in html  # 999 is 30 days ago: out of the window

    memory_backend.sent_days[("a.example", today)] = 41  # later the same day: updated
    domain_sync.collect_sent_days()
    assert DomainSentDay.objects.get(domain=domain_a, day=today).count == 41


def test_another_organization_and_strangers_see_nothing(client_for, admin_b, client, org_a):
    assert client_for(admin_b).get(URL, {"org": org_a.pk}).status_code == 404
    client.logout()
    response = client.get(URL, {"org": org_a.pk})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_organization_menu_opens_on_the_overview(client_for, operator, org_a):
    response = client_for(operator).get(reverse("organization:home"), {"org": org_a.pk})
    assert response.status_code == 302 and response["Location"] == f"{URL}?org={org_a.pk}"


def test_the_overview_costs_the_same_queries_for_few_or_many(
    client_for, owner, org_a, plan, domain_a, make_account, django_assert_num_queries
):
    plan.max_accounts = 100
    plan.save()
    client = client_for(owner)
    make_account(domain_a, "one")
    page(client, org_a)  # the session's first request may write; not counted
    with django_assert_num_queries(12) as few:
        page(client, org_a)
    second = make_domain(org_a, "more.example")
    for n in range(30):
        make_account(second if n % 2 else domain_a, f"m{n}")
    Domain.objects.filter(pk=second.pk).update(last_error="refused")
    with django_assert_num_queries(len(few.captured_queries)):
        page(client, org_a)


def test_a_full_mailbox_stands_out_in_the_account_list(client_for, owner, domain_a, make_account):
    full = make_account(domain_a, "stuffed")
    roomy = make_account(domain_a, "roomy")
    EmailAccount.objects.filter(pk=full.pk).update(storage_used_bytes=full.quota_mb * MB)
    html = client_for(owner).get(reverse("accounts:list", args=[domain_a.pk])).content.decode()
    row = re.search(rf'<tr id="account-{full.pk}".*?</tr>', html, re.S)[0]
    assert 'class="full-mailbox"' in row and 'aria-label="100 % used"' in row and "Full" in row
    other = re.search(rf'<tr id="account-{roomy.pk}".*?</tr>', html, re.S)[0]
    assert "full-mailbox" not in other and 'aria-label="0 % used"' in other
