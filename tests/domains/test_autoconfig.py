"""Mail clients configure themselves: Thunderbird autoconfig, Outlook Autodiscover and the
Apple profile, from settings; the answer depends on the domain only, and hostile XML is
refused. (tests/mailstack logs in with exactly what these answers advertise.)"""

import plistlib
from xml.etree import ElementTree as ET

import pytest
from django.urls import reverse

from tests.conftest import make_domain

TB = "/.well-known/autoconfig/mail/config-v1.1.xml"
AUTODISCOVER = "/autodiscover/autodiscover.xml"
NS = {"r": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
SERVERS = {
    "imap": {"host": "imap.provider.test", "port": 993, "security": "SSL"},
    "pop3": {"host": "pop.provider.test", "port": 110, "security": "STARTTLS"},
    "smtp": {"host": "smtp.provider.test", "port": 587, "security": "STARTTLS"},
}


@pytest.fixture(autouse=True)
def servers(settings):
    settings.MAIL_CLIENT_SERVERS = SERVERS
    settings.PROVIDER_NAME = "Hosting Ltd"


def request_body(address: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com'
        '/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>'
        f"{address}</EMailAddress><AcceptableResponseSchema>{NS['r']}"
        "</AcceptableResponseSchema></Request></Autodiscover>"
    )


def test_thunderbird_gets_the_servers_of_a_verified_domain(client, account_a):
    response = client.get(TB, {"emailaddress": "alice@a.example"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    provider = root.find("emailProvider")
    assert provider.get("id") == "a.example" and provider.findtext("domain") == "a.example"
    assert provider.findtext("displayName") == "Hosting Ltd"
    imap = provider.find("incomingServer[@type='imap']")
    assert (imap.findtext("hostname"), imap.findtext("port"), imap.findtext("socketType")) == (
        "imap.provider.test",
        "993",
        "SSL",
    )
    assert imap.findtext("username") == "%EMAILADDRESS%"
    smtp = provider.find("outgoingServer[@type='smtp']")
    assert (smtp.findtext("port"), smtp.findtext("socketType")) == ("587", "STARTTLS")
    # No account data: an address nobody has gets the very same answer.
    assert client.get(TB, {"emailaddress": "nobody@a.example"}).content == response.content


def test_the_autoconfig_host_of_a_domain_answers_without_a_parameter(client, domain_a):
    response = client.get("/mail/config-v1.1.xml", HTTP_HOST="autoconfig.a.example")
    assert response.status_code == 200
    assert ET.fromstring(response.content).find("emailProvider").get("id") == "a.example"
    # Other paths on such a host are not opened by it.
    assert client.get("/domains/", HTTP_HOST="autoconfig.a.example").status_code == 400


@pytest.mark.parametrize(
    "value",
    [
        "someone@unknown.example",
        "x@b.example",  # pending, below
        "",
        "not an address",
        '"><x/>@a.example<',
        "a@" + "x" * 300 + ".example",
    ],
)
def test_unknown_or_pending_domains_and_junk_get_nothing(client, org_b, domain_a, value):
    make_domain(org_b, "b.example", verified=False)
    response = client.get(TB, {"emailaddress": value})
    assert response.status_code == 404
    assert b"Org B" not in response.content and b"<x/>" not in response.content


def test_outlook_autodiscover(client, account_a):
    response = client.post(AUTODISCOVER, request_body("Alice@A.example"), content_type="text/xml")
    assert response.status_code == 200
    account = ET.fromstring(response.content).find("r:Response/r:Account", NS)
    protocols = {p.findtext("r:Type", namespaces=NS): p for p in account.findall("r:Protocol", NS)}
    assert set(protocols) == {"IMAP", "POP3", "SMTP"}
    imap = protocols["IMAP"]
    assert imap.findtext("r:Server", namespaces=NS) == "imap.provider.test"
    assert imap.findtext("r:Port", namespaces=NS) == "993"
    assert imap.findtext("r:Encryption", namespaces=NS) == "SSL"
    assert imap.findtext("r:LoginName", namespaces=NS) == "alice@a.example"
    assert protocols["SMTP"].findtext("r:Encryption", namespaces=NS) == "TLS"
    # Outlook's capitalized path, and the same answer for an address nobody has.
    other = client.post(
        "/Autodiscover/Autodiscover.xml", request_body("zed@a.example"), content_type="text/xml"
    )
    assert other.content == response.content.replace(b"alice@a.example", b"zed@a.example")


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">'
    "]><Autodiscover><Request><EMailAddress>&b;@a.example</EMailAddress></Request></Autodiscover>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>"
)


@pytest.mark.parametrize(
    "body",
    [
        BOMB,
        XXE,
        "<Autodiscover><Request>",
        request_body("a<b>@a.example").replace("a<b>", "a&lt;b&gt;"),
        request_body('"x"@a.example'),
        request_body("alice@a.example") + " " * 20000,
        "",
    ],
    ids=["entities", "external-entity", "malformed", "markup", "quoted", "oversized", "empty"],
)
def test_hostile_autodiscover_requests_are_refused(client, account_a, body):
    response = client.post(AUTODISCOVER, body, content_type="text/xml")
    assert response.status_code == 400
    assert b"root:" not in response.content


def test_autodiscover_is_post_only_and_needs_a_hosted_domain(client, org_b, domain_a):
    make_domain(org_b, "b.example", verified=False)
    assert client.get(AUTODISCOVER).status_code == 405
    for address in ("x@b.example", "x@unknown.example"):
        response = client.post(AUTODISCOVER, request_body(address), content_type="text/xml")
        assert response.status_code == 404


def test_the_portal_offers_the_settings_and_an_apple_profile(client_for, account_a):
    client = client_for(account_a.user)
    page = client.get(reverse("portal:mail_apps")).content.decode()
    assert "imap.provider.test" in page and "587" in page
    response = client.get(reverse("portal:mobileconfig"))
    assert response["Content-Type"] == "application/x-apple-aspen-config"
    assert "attachment" in response["Content-Disposition"]
    profile = plistlib.loads(response.content)
    assert profile["PayloadType"] == "Configuration"
    (mail,) = profile["PayloadContent"]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAddress"] == mail["IncomingMailServerUsername"] == "alice@a.example"
    assert (mail["IncomingMailServerHostName"], mail["IncomingMailServerPortNumber"]) == (
        "imap.provider.test",
        993,
    )
    assert mail["IncomingMailServerUseSSL"] is True
    assert (mail["OutgoingMailServerHostName"], mail["OutgoingMailServerPortNumber"]) == (
        "smtp.provider.test",
        587,
    )
    assert "IncomingPassword" not in mail and "OutgoingPassword" not in mail  # never a secret


def test_the_profile_is_only_for_a_live_mailbox_of_ones_own(client_for, org_a, owner, make_account):
    pending = make_domain(org_a, "c.example", verified=False)
    waiting = make_account(pending, "carol")
    client = client_for(waiting.user)
    assert client.get(reverse("portal:mobileconfig")).status_code == 404
    assert "not live yet" in client.get(reverse("portal:mail_apps")).content.decode()
    assert client_for(owner).get(reverse("portal:mobileconfig")).status_code == 404  # no mailbox
