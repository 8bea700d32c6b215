"""Who wins a name: an unverified claim blocks nobody, the first organization to verify gets
it and the others' pending claims go (with a notice); names nobody may claim are refused."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Alias, EmailAccount, User
from domains import ownership
from domains.models import ClaimNotice, Domain
from security.models import AuditEvent
from tests.conftest import PASSWORD, make_domain


def create(client, org, name):
    return client.post(reverse("domains:create"), {"name": name, "organization": org.pk})


def test_a_pending_claim_blocks_nobody_and_reveals_nothing(
    client_for, owner, admin_b, org_a, org_b
):
    create(client_for(owner), org_a, "race.example")
    response = create(client_for(admin_b), org_b, "race.example")
    assert response.status_code == 302
    assert Domain.objects.filter(name="race.example").count() == 2
    page = client_for(admin_b).get(response["Location"]).content.decode()
    assert "Org A" not in page and "owner@a.test" not in page


def test_first_verified_wins_and_the_other_claim_is_removed_with_a_notice(
    dns_server, client_for, owner, admin_b, org_a, org_b, make_account, memory_backend, run_tasks
):
    claim_a = make_domain(org_a, "race.example", verified=False)
    claim_b = make_domain(org_b, "race.example", verified=False)
    with run_tasks():
        b_home = make_domain(org_b, "b.example")
        prepared = make_account(claim_b, "ceo")  # B prepared an account and an alias on its claim
        b_user = make_account(b_home, "bob")
        account_services.alias_add(account=b_user, address="boss@race.example")
    # The alias on a pending name never reached the mail system.
    assert memory_backend.accounts["bob@b.example"].aliases == ()
    # Both tokens are published (e.g. the domain's admin tried both panels); A asks first.
    dns_server.set(
        "_tempusmail.race.example",
        "TXT",
        claim_a.verification_record_value,
        claim_b.verification_record_value,
    )
    with run_tasks():
        client_for(owner).post(reverse("domains:verify", args=[claim_a.pk]))
    claim_a.refresh_from_db()
    assert claim_a.is_verified
    assert not Domain.objects.filter(pk=claim_b.pk).exists()
    assert not EmailAccount.objects.filter(pk=prepared.pk).exists()
    assert not User.objects.filter(email="ceo@race.example").exists()
    assert not Alias.objects.filter(address="boss@race.example").exists()
    assert EmailAccount.objects.filter(pk=b_user.pk).exists()  # B's other domain is untouched
    assert "boss@race.example" not in memory_backend.accounts["bob@b.example"].aliases
    # B is told, on its domain list and in its audit log, without learning who won.
    b_client = client_for(admin_b)
    listing = b_client.get(reverse("domains:list")).content.decode()
    assert "race.example was verified by another organization" in listing
    assert "Org A" not in listing
    event = AuditEvent.objects.get(organization=org_b, action="domain.claim_removed")
    assert event.actor is None and event.ip is None and event.via == "system"
    # B's own verification now fails clearly, and the name cannot be added again.
    response = b_client.post(reverse("domains:verify", args=[claim_b.pk]))
    assert response.status_code == 404
    response = create(b_client, org_b, "race.example")
    assert "This domain is already active on this service." in response.content.decode()
    b_client.post(reverse("domains:notices_dismiss"))
    assert "was verified by another" not in b_client.get(reverse("domains:list")).content.decode()
    assert ClaimNotice.objects.get().dismissed_at is not None


def test_a_notice_is_dismissed_only_by_its_own_organization(client_for, owner, org_b):
    ClaimNotice.objects.create(organization=org_b, name="race.example")
    client_for(owner).post(reverse("domains:notices_dismiss"))
    assert ClaimNotice.objects.get().dismissed_at is None
    assert "race.example" not in client_for(owner).get(reverse("domains:list")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_organizations_verifying_at_once_exactly_one_wins(dns_server, org_a, org_b):
    claims = [
        make_domain(org_a, "race.example", verified=False),
        make_domain(org_b, "race.example", verified=False),
    ]
    dns_server.set(
        "_tempusmail.race.example", "TXT", *(c.verification_record_value for c in claims)
    )
    barrier = threading.Barrier(2)
    outcomes = {}

    def verify(claim):
        try:
            barrier.wait(timeout=10)
            outcomes[claim.pk] = ownership.domain_verify_now(domain=claim)
        except ValidationError as error:
            outcomes[claim.pk] = error.messages[0]
        finally:
            connection.close()

    threads = [threading.Thread(target=verify, args=(c,)) for c in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    remaining = list(Domain.objects.filter(name="race.example"))
    assert len(remaining) == 1 and remaining[0].is_verified
    winner = remaining[0].pk
    loser = next(c.pk for c in claims if c.pk != winner)
    assert outcomes[winner] == "found"
    assert outcomes[loser] == "race.example was verified by another organization first."


def test_staff_mark_a_domain_verified_in_the_admin_and_it_is_audited(
    client, org_a, org_b, memory_backend, run_tasks
):
    staff = User.objects.create_superuser("support@provider.test", PASSWORD)
    claim = make_domain(org_a, "c.example", verified=False)
    other = make_domain(org_b, "c.example", verified=False)
    client.force_login(staff)
    with run_tasks():
        response = client.post(
            reverse("admin:domains_domain_changelist"),
            {"action": "mark_verified", "_selected_action": [claim.pk]},
            follow=True,
        )
    assert "1 domain(s) marked verified." in response.content.decode()
    claim.refresh_from_db()
    assert claim.is_verified and "c.example" in memory_backend.domains
    assert not Domain.objects.filter(pk=other.pk).exists()
    event = AuditEvent.objects.get(action="domain.verify_staff")
    assert event.organization == org_a and event.actor == staff


PANEL_HOST = "panel.hosting.example"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("panel.hosting.example", "belongs to this service&#x27;s provider (hosting.example)"),
        ("hosting.example", "belongs to this service&#x27;s provider (hosting.example)"),
        ("mx1.mailhost.example", "belongs to this service&#x27;s provider (mailhost.example)"),
        ("reserved.example", "belongs to this service&#x27;s provider (reserved.example)"),
        ("sub.reserved.example", "belongs to this service&#x27;s provider (reserved.example)"),
        ("co.uk", "co.uk is a public suffix"),
        ("com", "com is a public suffix"),
        ("github.io", "github.io is a public suffix"),
        ("192.0.2.1", "192.0.2.1 is an IP address, not a domain name."),
        ("[2001:db8::1]", "[2001:db8::1] is an IP address, not a domain name."),
        ("ехаmple.com", "ехаmple mixes letters of different scripts (Cyrillic, Latin)"),
    ],
)
def test_names_nobody_may_claim_are_refused_with_the_reason(
    client_for, owner, org_a, settings, name, message
):
    settings.PANEL_HOST = PANEL_HOST
    settings.MAIL_CLIENT_SERVERS = {
        **settings.MAIL_CLIENT_SERVERS,
        "imap": {"host": "mx1.mailhost.example", "port": 993, "security": "SSL"},
    }
    settings.RESERVED_DOMAINS = ["reserved.example"]
    response = create(client_for(owner), org_a, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Domain.objects.exists()


@pytest.mark.parametrize(
    "name", ["example.co.uk", "bücher.example", "пример.рф", "日本語ドメイン.example"]
)
def test_ordinary_names_in_one_script_are_accepted(client_for, owner, org_a, name):
    assert create(client_for(owner), org_a, name).status_code == 302
    assert Domain.objects.count() == 1


def test_a_claim_added_while_the_name_was_being_verified_goes_too(dns_server, org_a, org_b):
    winner = make_domain(org_a, "race.example")
    # What domain_create's check cannot see: a claim committed just before the winner.
    late = Domain.objects.create(organization=org_b, name="race.example")
    dns_server.set("_tempusmail.race.example", "TXT", late.verification_record_value)
    with pytest.raises(ValidationError, match="verified by another organization first"):
        ownership.domain_verify_now(domain=late)
    assert list(Domain.objects.filter(name="race.example")) == [winner]
    assert ClaimNotice.objects.filter(organization=org_b, name="race.example").exists()


def test_a_verification_pushes_the_domains_accounts_in_one_batch(
    org_a, make_account, memory_backend, monkeypatch, django_capture_on_commit_callbacks
):
    """A domain prepared with many accounts goes live in one adapter call per 500 accounts
    (one directory transaction, one auth cache flush), not one push task per account."""
    from accounts import tasks

    claim = make_domain(org_a, "prepared.example", verified=False)
    accounts = [make_account(claim, f"user{n}") for n in range(3)]
    sent = []
    monkeypatch.setattr(tasks.push_accounts, "delay", lambda ids: sent.append(("batch", ids)))
    monkeypatch.setattr(tasks.push_account, "delay", lambda pk: sent.append(("one", pk)))
    with django_capture_on_commit_callbacks(execute=True):
        ownership.domain_mark_verified(domain=claim, by_staff=True)
    assert sent == [("batch", sorted(a.pk for a in accounts))]
