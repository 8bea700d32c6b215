"""Domains on the real stack: a pending domain is not live until DNS proves ownership;
abuse@, postmaster@ and support@ deliver where they should; and what autoconfig, Autodiscover
and the Apple profile advertise is exactly what logs in and sends."""

import contextlib
import imaplib
import plistlib
import smtplib
import ssl
import subprocess
import time
from xml.etree import ElementTree as ET

import pytest
from django.urls import reverse

from accounts import services
from domains import services as domain_services
from domains.models import Membership, Role
from tests.conftest import PASSWORD, make_domain, wait_until

from .conftest import imap_ok, message, send, wait_applied, wait_online, wait_subject

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]


def postfix_lookup(stack, table: str, key: str) -> str:
    """What Postfix's own map (deploy/postfix/<table>.cf) answers for a key ("" if nothing)."""
    done = subprocess.run(
        [
            "postmap",
            "-c",
            str(stack.dir / "postfix"),
            "-q",
            key,
            f"{stack.values['MAP_TYPE']}:{stack.dir / 'postfix' / table}.cf",
        ],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return done.stdout.strip()


def test_a_pending_domain_is_not_live_until_its_owner_proves_it(
    stack, mail_worker, dns_server, org_a, owner, client_for, make_account, domain_a
):
    pending = make_domain(org_a, "c.example", verified=False)
    carol = make_account(pending, "carol")
    witness = make_account(domain_a, "witness")  # queued after carol's push: the worker got it
    wait_online(witness)
    carol.refresh_from_db()
    assert carol.status == "waiting" and carol.applied_version == 0
    assert not imap_ok(stack, "carol@c.example")
    assert postfix_lookup(stack, "virtual-domains", "c.example") == ""  # not a local domain
    assert postfix_lookup(stack, "virtual-mailboxes", "carol@c.example") == ""

    dns_server.set(pending.verification_record_name, "TXT", pending.verification_record_value)
    response = client_for(owner).post(reverse("domains:verify", args=[pending.pk]), follow=True)
    assert "c.example is verified" in response.content.decode()
    wait_online(carol)
    assert postfix_lookup(stack, "virtual-domains", "c.example") == "c.example"
    assert imap_ok(stack, "carol@c.example")
    send(stack, "sender@outside.test", "carol@c.example", "Now live")
    wait_subject(stack, "carol@c.example", "Now live")


def test_abuse_postmaster_and_support_deliver_where_they_belong(
    stack, mail_worker, org_a, org_b, domain_a, make_account
):
    desk_domain = make_domain(org_b, "desk.example")  # the provider's abuse desk (settings)
    desk = make_account(desk_domain, "desk")
    boss = make_account(domain_a, "boss")
    alice = make_account(domain_a, "alice")
    # The organization's owner signs in with a mailbox of its own domain.
    Membership.objects.create(user=boss.user, organization=org_a, role=Role.OWNER)
    domain_services.organization_domains_repush(organization_id=org_a.pk)
    for account in (desk, boss, alice):
        wait_online(account)
    wait_applied(domain_a)

    send(stack, "sender@outside.test", "abuse@a.example", "Spam report")
    wait_subject(stack, "desk@desk.example", "Spam report")
    send(stack, "sender@outside.test", "postmaster@a.example", "Bounce report")
    wait_subject(stack, "boss@a.example", "Bounce report")
    send(stack, "sender@outside.test", "support@a.example", "Help 1")
    wait_subject(stack, "boss@a.example", "Help 1")

    # Alice takes support@ over with an alias; removing it gives it back to the owner.
    alias = services.alias_add(account=alice, address="support@a.example")
    wait_online(alice)
    send(stack, "sender@outside.test", "support@a.example", "Help 2")
    wait_subject(stack, "alice@a.example", "Help 2")
    services.alias_delete(alias=alias)
    wait_online(alice)
    send(stack, "sender@outside.test", "support@a.example", "Help 3")
    wait_subject(stack, "boss@a.example", "Help 3")
    # An account named postmaster takes postmaster@ over.
    postmaster = make_account(domain_a, "postmaster")
    wait_online(postmaster)
    send(stack, "sender@outside.test", "postmaster@a.example", "Bounce 2")
    wait_subject(stack, "postmaster@a.example", "Bounce 2")
    from .conftest import mailbox_subjects

    assert "Bounce 2" not in mailbox_subjects(stack, "boss@a.example")
    assert "Help 2" not in mailbox_subjects(stack, "boss@a.example")


# --- what mail clients are told, used as a client would ---------------------------------------


@pytest.fixture
def advertised(stack, settings):
    """The stack's own servers, as the provider would configure MAIL_*_HOST/PORT/SECURITY.
    (The test stack speaks no TLS; a TLS stack sets SSL or STARTTLS and the clients below
    follow whatever is advertised.)"""
    settings.MAIL_CLIENT_SERVERS = {
        "imap": {"host": "127.0.0.1", "port": stack.port("IMAP"), "security": "plain"},
        "pop3": {"host": "127.0.0.1", "port": stack.port("POP3"), "security": "plain"},
        "smtp": {"host": "127.0.0.1", "port": stack.port("SUBMISSION"), "security": "plain"},
    }


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test stack's certificate is self-signed
    return context


def use_imap(host: str, port: int, security: str, username: str) -> list[str]:
    """Log in as the settings say and list the subjects in INBOX."""
    if security == "SSL":
        client = imaplib.IMAP4_SSL(host, port, ssl_context=tls_context(), timeout=10)
    else:
        client = imaplib.IMAP4(host, port, timeout=10)
        if security == "STARTTLS":
            client.starttls(tls_context())
    try:
        client.login(username, PASSWORD)
        client.select("INBOX", readonly=True)
        _typ, data = client.search(None, "ALL")
        subjects = []
        for num in data[0].split():
            _typ, parts = client.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            subjects.append(parts[0][1].decode().partition(":")[2].strip())
        return subjects
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def use_smtp(host: str, port: int, security: str, username: str, subject: str) -> None:
    """Log in to submission as the settings say and send a message to oneself."""
    if security == "SSL":
        client = smtplib.SMTP_SSL(host, port, context=tls_context(), timeout=10)
    else:
        client = smtplib.SMTP(host, port, timeout=10)
        if security == "STARTTLS":
            client.starttls(context=tls_context())
    with client:
        client.login(username, PASSWORD)
        client.sendmail(username, [username], message(username, username, subject))


def wait_inbox(settings_tuple, subject: str) -> None:
    wait_until(
        lambda: subject in use_imap(*settings_tuple),
        timeout=20,
        interval=0.3,
        what=f"{subject!r} delivered",
    )


def test_thunderbird_autoconfig_logs_in_and_sends(
    stack, mail_worker, advertised, client, domain_a, make_account
):
    wait_online(make_account(domain_a, "tb"))
    address = "tb@a.example"
    response = client.get("/.well-known/autoconfig/mail/config-v1.1.xml", {"emailaddress": address})
    provider = ET.fromstring(response.content).find("emailProvider")

    def server(element):
        username = element.findtext("username").replace("%EMAILADDRESS%", address)
        return (
            element.findtext("hostname"),
            int(element.findtext("port")),
            element.findtext("socketType"),
            username,
        )

    imap = server(provider.find("incomingServer[@type='imap']"))
    smtp = server(provider.find("outgoingServer[@type='smtp']"))
    subject = f"Thunderbird {time.monotonic_ns()}"
    use_smtp(*smtp, subject)
    wait_inbox(imap, subject)


def test_autodiscover_logs_in_and_sends(
    stack, mail_worker, advertised, client, domain_a, make_account
):
    wait_online(make_account(domain_a, "outlook"))
    body = (
        '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
        'requestschema/2006"><Request><EMailAddress>outlook@a.example</EMailAddress>'
        "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/"
        "responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>"
    )
    response = client.post("/autodiscover/autodiscover.xml", body, content_type="text/xml")
    ns = {"r": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
    protocols = {
        p.findtext("r:Type", namespaces=ns): p
        for p in ET.fromstring(response.content).iterfind(".//r:Protocol", ns)
    }
    security = {"SSL": "SSL", "TLS": "STARTTLS", "None": "plain"}

    def server(protocol):
        return (
            protocol.findtext("r:Server", namespaces=ns),
            int(protocol.findtext("r:Port", namespaces=ns)),
            security[protocol.findtext("r:Encryption", namespaces=ns)],
            protocol.findtext("r:LoginName", namespaces=ns),
        )

    subject = f"Outlook {time.monotonic_ns()}"
    use_smtp(*server(protocols["SMTP"]), subject)
    wait_inbox(server(protocols["IMAP"]), subject)


def test_the_apple_profile_logs_in_and_sends(
    stack, mail_worker, advertised, client_for, domain_a, make_account
):
    account = make_account(domain_a, "iphone")
    wait_online(account)
    profile = plistlib.loads(client_for(account.user).get(reverse("portal:mobileconfig")).content)
    (mail,) = profile["PayloadContent"]

    def security(use_ssl: bool, port: int) -> str:
        return ("SSL" if port in (993, 465) else "STARTTLS") if use_ssl else "plain"

    imap = (
        mail["IncomingMailServerHostName"],
        mail["IncomingMailServerPortNumber"],
        security(mail["IncomingMailServerUseSSL"], mail["IncomingMailServerPortNumber"]),
        mail["IncomingMailServerUsername"],
    )
    smtp = (
        mail["OutgoingMailServerHostName"],
        mail["OutgoingMailServerPortNumber"],
        security(mail["OutgoingMailServerUseSSL"], mail["OutgoingMailServerPortNumber"]),
        mail["OutgoingMailServerUsername"],
    )
    subject = f"iPhone {time.monotonic_ns()}"
    use_smtp(*smtp, subject)
    wait_inbox(imap, subject)
