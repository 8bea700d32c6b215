"""Add a domain: validated, stored as punycode, pending until verified, a verified name unique
across tenants, within the plan."""

import pytest
from django.urls import reverse

from domains.models import Domain


def create(client, org, name):
    return client.post(reverse("domains:create"), {"name": name, "organization": org.pk})


@pytest.mark.parametrize("who", ["owner", "operator"])
def test_writers_activate_a_domain(request, who, client_for, org_a):
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("domains:create")).status_code == 200
    response = create(client, org_a, "New.Example")
    domain = Domain.objects.get(name="new.example")
    assert domain.organization == org_a
    assert response.status_code == 302
    # the DNS tab: the TXT record that proves ownership
    assert response["Location"] == reverse("domains:dns", args=[domain.pk])
    assert domain.services == org_a.plan.services
    assert domain.storage_options_mb == org_a.plan.storage_options_mb
    assert domain.verification == "pending" and domain.verified_at is None
    assert not domain.is_applied  # nothing reaches the mail system before verification


def test_idn_is_stored_as_punycode_and_shown_in_unicode(client_for, owner, org_a):
    client = client_for(owner)
    response = create(client, org_a, "Bücher.Example")
    domain = Domain.objects.get()
    assert domain.name == "xn--bcher-kva.example"
    page = client.get(response["Location"]).content.decode()
    assert "Domain bücher.example added." in page
    assert "<h1>bücher.example <span" in page


@pytest.mark.parametrize(
    "name", ["", "example", "-bad.example", "bad-.example", "a..example", "x" * 64 + ".example"]
)
def test_invalid_names_are_refused(client_for, owner, org_a, name):
    response = create(client_for(owner), org_a, name)
    assert response.status_code == 200
    assert not Domain.objects.exists()


@pytest.mark.parametrize("name", ["a.example", "A.EXAMPLE", "a.example."])
def test_a_domain_is_unique_across_tenants(client_for, admin_b, org_b, domain_a, name):
    response = create(client_for(admin_b), org_b, name)
    assert response.status_code == 200
    assert "already active" in response.content.decode()
    assert Domain.objects.get(name="a.example").organization_id == domain_a.organization_id
    assert Domain.objects.count() == 1


def test_the_same_idn_in_unicode_or_punycode_is_one_domain(client_for, owner, org_a):
    client = client_for(owner)
    create(client, org_a, "bücher.example")
    response = create(client, org_a, "xn--bcher-kva.example")
    assert response.status_code == 200
    assert "You have already added this domain." in response.content.decode()
    assert Domain.objects.count() == 1


def test_the_plans_domain_limit_is_named(client_for, owner, org_a, domain_a):
    client = client_for(owner)
    create(client, org_a, "two.example")
    create(client, org_a, "three.example")
    response = create(client, org_a, "four.example")  # the test plan allows 3
    assert response.status_code == 200
    assert "Your plan allows at most 3 domains." in response.content.decode()
    assert Domain.objects.filter(organization=org_a).count() == 3


def test_a_viewer_gets_403(client_for, viewer, org_a):
    client = client_for(viewer)
    assert client.get(reverse("domains:create")).status_code == 403
    assert create(client, org_a, "new.example").status_code == 403
    assert not Domain.objects.exists()


def test_nobody_adds_a_domain_to_another_tenant(client_for, admin_b, org_a, org_b):
    client = client_for(admin_b)
    page = client.get(reverse("domains:create")).content.decode()
    assert "Org A" not in page
    response = create(client, org_a, "sneaky.example")
    assert response.status_code == 200
    assert not Domain.objects.filter(name="sneaky.example", organization=org_a).exists()
    assert not Domain.objects.exists()


def test_anonymous_is_sent_to_login(client, org_a):
    response = create(client, org_a, "new.example")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Domain.objects.exists()
