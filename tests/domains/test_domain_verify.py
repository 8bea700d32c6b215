"""Ownership before mail, against a real authoritative DNS server (Knot): a domain is pending
until its TXT record holds the claim's token; only then does anything reach the mail system."""

import pytest
from django.urls import reverse

from accounts.models import EmailAccount
from domains import tasks
from domains.models import Domain
from tests.conftest import make_domain


@pytest.fixture
def pending_a(org_a):
    return make_domain(org_a, "a.example", verified=False)


def publish_token(dns_server, domain, value=None):
    dns_server.set(
        domain.verification_record_name, "TXT", value or domain.verification_record_value
    )


def test_pending_then_published_then_verified_then_pushed(
    dns_server, client_for, owner, pending_a, make_account, memory_backend, run_tasks
):
    alice = make_account(pending_a, "alice")
    client = client_for(owner)
    # Pending: the DNS tab shows the exact record, the list says nothing is live.
    page = client.get(reverse("domains:dns", args=[pending_a.pk])).content.decode()
    assert "_tempusmail.a.example" in page
    assert pending_a.verification_record_value in page
    assert 'data-copy="verify-value"' in page and "Verify now" in page
    listing = client.get(reverse("accounts:list", args=[pending_a.pk])).content.decode()
    assert "Nothing of this domain is live yet." in listing
    assert "Waiting for domain verification" in listing and "Online" not in listing
    with run_tasks():
        alice.refresh_from_db()
    assert memory_backend.domains == {} and memory_backend.accounts == {}

    publish_token(dns_server, pending_a)
    with run_tasks():
        response = client.post(reverse("domains:verify", args=[pending_a.pk]), follow=True)
    assert "a.example is verified" in response.content.decode()
    pending_a.refresh_from_db()
    assert pending_a.is_verified and pending_a.verified_at is not None
    # Pushed: the domain, then the account prepared while pending.
    assert "a.example" in memory_backend.domains
    assert "alice@a.example" in memory_backend.accounts
    alice = EmailAccount.objects.get(pk=alice.pk)
    assert alice.status == "online"
    listing = client.get(reverse("accounts:list", args=[pending_a.pk])).content.decode()
    assert "Online" in listing and "Nothing of this domain is live yet." not in listing


def test_a_wrong_token_stays_pending(
    dns_server, client_for, owner, pending_a, org_b, memory_backend, run_tasks
):
    other_claim = make_domain(org_b, "a.example", verified=False)
    publish_token(dns_server, pending_a, other_claim.verification_record_value)
    with run_tasks():
        response = client_for(owner).post(
            reverse("domains:verify", args=[pending_a.pk]), follow=True
        )
    page = response.content.decode()
    assert "does not hold this domain&#x27;s token" in page
    assert other_claim.verification_record_value in page  # what DNS answered, shown
    pending_a.refresh_from_db()
    assert not pending_a.is_verified and pending_a.verification_result == "wrong"
    assert memory_backend.domains == {}


def test_no_record_yet_says_so(dns_server, client_for, owner, pending_a):
    response = client_for(owner).post(reverse("domains:verify", args=[pending_a.pk]), follow=True)
    assert "No TXT record with the token was found yet." in response.content.decode()
    pending_a.refresh_from_db()
    assert pending_a.verification_result == "missing" and not pending_a.is_verified


def test_dns_down_is_could_not_check_and_the_periodic_task_retries(
    dns_server, client_for, owner, pending_a, memory_backend, run_tasks
):
    dns_server.stop()
    response = client_for(owner).post(reverse("domains:verify", args=[pending_a.pk]), follow=True)
    assert response.status_code == 200
    assert "Could not check — DNS did not answer." in response.content.decode()
    pending_a.refresh_from_db()
    assert pending_a.verification_result == "unreachable" and not pending_a.is_verified

    # The beat task finds it due again (its check is older than the interval) once DNS is back.
    dns_server.start()
    publish_token(dns_server, pending_a)
    Domain.objects.filter(pk=pending_a.pk).update(
        verification_checked_at=pending_a.verification_checked_at.replace(year=2000)
    )
    with run_tasks():
        assert tasks.verify_pending() == [pending_a.pk]
    pending_a.refresh_from_db()
    assert pending_a.is_verified
    assert "a.example" in memory_backend.domains


def test_a_recently_checked_claim_is_not_due(dns_server, pending_a, owner, client_for):
    client_for(owner).post(reverse("domains:verify", args=[pending_a.pk]))
    assert tasks.verify_pending() == []


def test_beat_runs_the_checks(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"domains.tasks.verify_pending", "domains.tasks.check_dns_all"} <= tasks_scheduled


def test_a_viewer_cannot_verify(dns_server, client_for, viewer, pending_a):
    assert (
        client_for(viewer).post(reverse("domains:verify", args=[pending_a.pk])).status_code == 403
    )
    page = client_for(viewer).get(reverse("domains:dns", args=[pending_a.pk])).content.decode()
    assert reverse("domains:verify", args=[pending_a.pk]) not in page  # no button
    assert pending_a.verification_record_value in page
