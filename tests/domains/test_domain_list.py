"""The domain list: each tenant sees its own domains, with accounts count and storage used."""

import pytest
from django.urls import reverse

from accounts import sync
from domains import services
from tempusmail.mailbackend.base import Usage


@pytest.mark.parametrize("who", ["owner", "operator", "viewer"])
def test_members_see_their_domains_with_counts_and_storage(
    request, who, client_for, domain_a, domain_b, make_account, memory_backend
):
    member = request.getfixturevalue(who)
    alice = make_account(domain_a, "alice")
    make_account(domain_a, "bruno")
    memory_backend.usages[alice.address] = Usage(storage_bytes=5 * 1024 * 1024)
    sync.collect_usage()  # as the periodic usage collector does
    page = client_for(member).get(reverse("domains:list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("accounts:list", args=[domain_a.pk]) in html
    assert "Org A" in html
    assert '<td class="num">2</td>' in html and "5.0\xa0MB" in html
    assert "b.example" not in html and "Org B" not in html


def test_another_tenant_sees_none_of_ours(client_for, admin_b, domain_a, domain_b, make_account):
    make_account(domain_a, "alice")
    html = client_for(admin_b).get(reverse("domains:list")).content.decode()
    assert "b.example" in html
    assert "a.example" not in html and "Org A" not in html


def test_idn_names_are_shown_in_unicode(client_for, owner, org_a):
    services.domain_create(organization=org_a, name="bücher.example")
    html = client_for(owner).get(reverse("domains:list")).content.decode()
    assert "bücher.example" in html and "xn--bcher-kva" not in html


def test_search(client_for, owner, org_a, domain_a):
    services.domain_create(organization=org_a, name="other.example")
    html = client_for(owner).get(reverse("domains:list"), {"q": "other"}).content.decode()
    assert "other.example" in html and ">a.example<" not in html


def test_only_writers_see_the_add_button(client_for, owner, viewer, domain_a, client):
    add = reverse("domains:create")
    assert add in client_for(owner).get(reverse("domains:list")).content.decode()
    client.logout()
    assert add not in client_for(viewer).get(reverse("domains:list")).content.decode()


def test_domain_page_opens_on_its_email_accounts(client_for, owner, admin_b, domain_a, client):
    response = client_for(owner).get(reverse("domains:detail", args=[domain_a.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:list", args=[domain_a.pk])
    client.logout()
    assert client_for(admin_b).get(reverse("domains:detail", args=[domain_a.pk])).status_code == 404


def test_anonymous_is_sent_to_login(client, domain_a):
    for url in (reverse("domains:list"), reverse("domains:detail", args=[domain_a.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
