"""Deleting a domain: only the owner, only an empty domain, behind a confirmation page."""

import pytest
from django.urls import reverse

from accounts import services as account_services
from domains.models import Domain


def url(domain):
    return reverse("domains:delete", args=[domain.pk])


def test_the_owner_deletes_an_empty_domain(client_for, owner, domain_a):
    client = client_for(owner)
    page = client.get(url(domain_a)).content.decode()
    assert "Delete a.example?" in page and "cannot be undone" in page
    assert Domain.objects.filter(pk=domain_a.pk).exists()  # a GET deletes nothing
    response = client.post(url(domain_a), follow=True)
    assert "Domain a.example deleted." in response.content.decode()
    assert not Domain.objects.filter(pk=domain_a.pk).exists()


def test_a_domain_with_accounts_cannot_be_deleted(client_for, owner, account_a):
    response = client_for(owner).post(url(account_a.domain), follow=True)
    assert "A domain with email accounts or aliases cannot be deleted." in (
        response.content.decode()
    )
    assert Domain.objects.filter(pk=account_a.domain_id).exists()


def test_a_domain_with_accounts_is_not_offered_for_deletion(client_for, owner, account_a):
    client = client_for(owner)
    settings_page = client.get(reverse("domains:settings", args=[account_a.domain_id]))
    html = settings_page.content.decode()
    assert "disabled" in html.split('id="delete-blocker"')[1].split("</button>")[0]
    assert url(account_a.domain) not in html  # no link to the confirmation page
    response = client.get(url(account_a.domain))  # typed by hand: back, with the reason
    assert response.status_code == 302
    assert response["Location"] == reverse("domains:settings", args=[account_a.domain_id])
    account_services.account_deactivate(account=account_a)
    account_services.account_delete(account=account_a)
    account_a.delete()  # the worker's purge
    html = client.get(reverse("domains:settings", args=[account_a.domain_id])).content.decode()
    assert url(account_a.domain) in html and "delete-blocker" not in html


def test_a_domain_holding_only_an_alias_cannot_be_deleted(client_for, owner, org_a, account_a):
    from domains import services

    other = services.domain_create(organization=org_a, name="other.example")
    account_services.alias_add(account=account_a, address="alice@other.example")
    client_for(owner).post(url(other))
    assert Domain.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize("who", ["operator", "viewer"])
def test_operators_and_viewers_get_403(request, who, client_for, domain_a):
    client = client_for(request.getfixturevalue(who))
    assert client.get(url(domain_a)).status_code == 403
    assert client.post(url(domain_a)).status_code == 403
    assert Domain.objects.filter(pk=domain_a.pk).exists()


def test_another_tenant_gets_404(client_for, admin_b, domain_a):
    client = client_for(admin_b)
    response = client.get(url(domain_a))
    assert response.status_code == 404 and "a.example" not in response.content.decode()
    assert client.post(url(domain_a)).status_code == 404
    assert Domain.objects.filter(pk=domain_a.pk).exists()


def test_anonymous_is_sent_to_login(client, domain_a):
    response = client.post(url(domain_a))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert Domain.objects.filter(pk=domain_a.pk).exists()
