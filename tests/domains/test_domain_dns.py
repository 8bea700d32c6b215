"""The DNS tab: what each record should be, what a real DNS server (Knot) answers, and
OK / missing / wrong for each, checked by the Celery task and shown from the stored results."""

import re

import pytest
from django.urls import reverse

from domains import tasks
from domains.models import DnsCheck
from tests.conftest import make_domain
from tests.security.test_isolation_sweep import walk


@pytest.fixture
def health(org_a, settings):
    settings.DNS_MX_HOSTS = ["mx.provider.test"]
    settings.AUTOCONFIG_HOST = "panel.provider.test"
    settings.DNS_SPF_RECORD = "v=spf1 mx ~all"
    settings.DNS_DMARC_RECORD = "v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}"
    return make_domain(org_a, "health.example")


def publish_all(dns_server, domain):
    name = domain.name
    key = domain.dkim_keys.get(active=True)
    dns_server.set(name, "MX", "10 mx.provider.test.")
    dns_server.set(name, "TXT", "v=spf1 mx ~all", "google-site-verification=abc")
    dns_server.set(key.record_name, "TXT", key.record_value)  # 2 strings: p= is 392 characters
    dns_server.set(f"_dmarc.{name}", "TXT", "v=DMARC1; p=reject")
    dns_server.set(f"autoconfig.{name}", "CNAME", "panel.provider.test.")
    dns_server.set(f"autodiscover.{name}", "CNAME", "panel.provider.test.")
    dns_server.set(domain.verification_record_name, "TXT", domain.verification_record_value)


def statuses(client, domain) -> dict[str, str]:
    page = client.get(reverse("domains:dns", args=[domain.pk])).content.decode()
    return dict(re.findall(r'data-record="([^"]+)" data-status="([^"]+)"', page))


def test_every_record_published_is_ok(dns_server, health, client_for, owner):
    publish_all(dns_server, health)
    tasks.check_domain_dns(health.pk)
    key = health.dkim_keys.get(active=True)
    assert statuses(client_for(owner), health) == {
        "mx": "ok",
        "spf": "ok",
        f"dkim:{key.selector}": "ok",
        "dmarc": "ok",
        "autoconfig": "ok",
        "autodiscover": "ok",
        "ownership": "ok",
    }


def test_nothing_published_is_missing_each(dns_server, health, client_for, owner):
    tasks.check_domain_dns(health.pk)
    found = statuses(client_for(owner), health)
    assert found.pop("ownership") == "not_needed"  # verified: the record may go
    assert set(found.values()) == {"missing"}


def test_each_wrong_record_is_wrong(dns_server, health, client_for, owner):
    name = health.name
    key = health.dkim_keys.get(active=True)
    other = make_domain(health.organization, "c.example").dkim_keys.get()
    dns_server.set(name, "MX", "10 mx.provider.test.", "20 mx.elsewhere.test.")
    dns_server.set(name, "TXT", "v=spf1 include:_spf.elsewhere.test -all")
    dns_server.set(key.record_name, "TXT", other.record_value)
    dns_server.set(f"_dmarc.{name}", "TXT", "v=DMARC1; rua=mailto:x@health.example")
    dns_server.set(f"autoconfig.{name}", "CNAME", "elsewhere.test.")
    dns_server.set(f"autodiscover.{name}", "A", "192.0.2.7")
    tasks.check_domain_dns(health.pk)
    client = client_for(owner)
    found = statuses(client, health)
    found.pop("ownership")
    assert set(found.values()) == {"wrong"}, found
    page = client.get(reverse("domains:dns", args=[health.pk])).content.decode()
    assert "20 mx.elsewhere.test" in page  # what DNS answered, next to what is expected
    assert "The SPF record does not authorize this service&#x27;s servers." in page
    assert "192.0.2.7" in page


def test_a_pending_domains_wrong_ownership_record_is_wrong(dns_server, org_a, client_for, owner):
    pending = make_domain(org_a, "c.example", verified=False)
    dns_server.set(pending.verification_record_name, "TXT", "tempusmail-verification=nope")
    tasks.check_domain_dns(pending.pk)
    assert statuses(client_for(owner), pending)["ownership"] == "wrong"


def test_dns_down_is_could_not_check_never_an_error(dns_server, health, client_for, owner):
    dns_server.stop()
    tasks.check_domain_dns(health.pk)
    client = client_for(owner)
    response = client.get(reverse("domains:dns", args=[health.pk]))
    assert response.status_code == 200
    assert set(statuses(client, health).values()) == {"unchecked"}
    assert "Could not check — DNS did not answer" in response.content.decode()


def test_the_tab_renders_from_stored_results(dns_server, health, client_for, owner):
    publish_all(dns_server, health)
    tasks.check_domain_dns(health.pk)
    dns_server.stop()  # the page asks no DNS server
    assert set(statuses(client_for(owner), health).values()) == {"ok"}
    # A rotated key is a new record: "not checked yet" until the next check.
    client_for(owner).post(reverse("domains:dkim_rotate", args=[health.pk]))
    new = health.dkim_keys.get(active=True)
    assert statuses(client_for(owner), health)[f"dkim:{new.selector}"] == "unchecked-yet"


def test_check_now_asks_a_worker_and_the_page_polls_until_done(
    dns_server, health, client_for, owner, viewer
):
    client = client_for(owner)
    client.post(reverse("domains:dns_check", args=[health.pk]))
    check = DnsCheck.objects.get(domain=health)
    assert check.running
    page = client.get(reverse("domains:dns", args=[health.pk])).content.decode()
    assert "Checking…" in page and 'hx-trigger="every 2s"' in page
    tasks.check_domain_dns(health.pk)
    partial = client.get(
        reverse("domains:dns", args=[health.pk]) + "?part=health", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "every 2s" not in partial and "Last checked" in partial
    assert (
        client_for(viewer).post(reverse("domains:dns_check", args=[health.pk])).status_code == 403
    )


def test_the_periodic_check_takes_verified_domains_not_checked_lately(dns_server, health, org_a):
    pending = make_domain(org_a, "c.example", verified=False)
    assert tasks.check_dns_all() == [health.pk]
    tasks.check_domain_dns(health.pk)
    assert tasks.check_dns_all() == []
    assert pending.pk not in tasks.check_dns_all()


@pytest.mark.parametrize("verified", [True, False], ids=["verified", "pending"])
def test_another_organizations_domain_is_404_on_every_domain_url(
    client_for, owner, operator, viewer, org_b, verified
):
    """The isolation sweep covers these URLs with B's verified domain; here a pending one too."""
    domain_b = make_domain(org_b, "b.example", verified=verified)
    routes = [
        route
        for route, namespace, _pattern in walk()
        if namespace not in ("api", "admin")
        and ("domains/<int:pk>" in route or "<int:domain_pk>" in route)
    ]
    assert len(routes) >= 9
    for user in (owner, operator, viewer):
        client = client_for(user)
        for route in routes:
            url = "/" + re.sub(r"<int:(pk|domain_pk)>", str(domain_b.pk), route)
            url = re.sub(r"<int:\w+>", "1", url)
            for method in ("get", "post"):
                response = getattr(client, method)(url, {"selector": "x"})
                assert response.status_code in (404, 405), (method, url, response.status_code)
                assert "b.example" not in response.content.decode()
