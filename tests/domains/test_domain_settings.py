"""Domain settings: the plan's services and capacities its accounts may use, default limit."""

import re

import pytest
from django.urls import reverse

from domains.models import Domain

GOOD = {
    "services": ["imap", "smtp", "webmail"],
    "storage_options_mb": ["1024", "5120"],
    "default_daily_send_limit": "300",
}


def url(domain):
    return reverse("domains:settings", args=[domain.pk])


@pytest.mark.parametrize("who", ["owner", "operator"])
def test_writers_save_settings(request, who, client_for, domain_a):
    client = client_for(request.getfixturevalue(who))
    response = client.post(url(domain_a), GOOD)
    assert response.status_code == 302
    domain = Domain.objects.get(pk=domain_a.pk)
    assert domain.services == ["imap", "smtp", "webmail"]
    assert domain.storage_options_mb == [1024, 5120]
    assert domain.default_daily_send_limit == 300
    assert "Domain settings saved." in client.get(response["Location"]).content.decode()


def test_only_what_the_plan_offers(client_for, owner, plan, domain_a):
    plan.services = ["imap", "webmail"]
    plan.storage_options_mb = [1024, 2048]
    plan.save()
    client = client_for(owner)
    page = client.get(url(domain_a)).content.decode()
    assert 'value="imap"' in page and 'value="pop"' not in page
    assert 'value="2048"' in page and 'value="10240"' not in page
    assert "Your plan allows up to 1000" in page
    for data in (
        {**GOOD, "services": ["imap", "pop"]},
        {**GOOD, "storage_options_mb": ["10240"]},
        {**GOOD, "storage_options_mb": []},
        {**GOOD, "default_daily_send_limit": "1001"},
        {**GOOD, "default_daily_send_limit": "0"},
    ):
        response = client.post(url(domain_a), {**data, "services": data["services"]})
        assert response.status_code == 200, data
    domain = Domain.objects.get(pk=domain_a.pk)
    assert domain.storage_options_mb == [1024, 5120, 10240]  # unchanged
    assert domain.default_daily_send_limit == 500


def test_a_viewer_sees_read_only_settings_and_gets_403_on_save(client_for, viewer, domain_a):
    client = client_for(viewer)
    page = client.get(url(domain_a)).content.decode()
    assert re.search(r"<fieldset[^>]*disabled", page)
    assert ">Save<" not in page and reverse("domains:delete", args=[domain_a.pk]) not in page
    assert client.post(url(domain_a), GOOD).status_code == 403
    assert Domain.objects.get(pk=domain_a.pk).default_daily_send_limit == 500


def test_another_tenant_gets_404(client_for, admin_b, domain_a):
    client = client_for(admin_b)
    response = client.get(url(domain_a))
    assert response.status_code == 404 and "a.example" not in response.content.decode()
    assert client.post(url(domain_a), GOOD).status_code == 404
    assert Domain.objects.get(pk=domain_a.pk).default_daily_send_limit == 500


def test_anonymous_is_sent_to_login(client, domain_a):
    response = client.post(url(domain_a), GOOD)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
