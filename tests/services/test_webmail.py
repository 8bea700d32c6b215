"""The real webmail (Roundcube from Debian) with the panel's preferences, in headless
Chromium: what a user sees after setting things in the portal, and what the admin's Webmail
switch and deactivation do."""

import contextlib
import imaplib
import re
import smtplib
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from tests.conftest import PASSWORD
from tests.mailstack.conftest import IMAP, imap_ok
from webmail_settings import services as webmail_services

from .conftest import port, push

pytestmark = [pytest.mark.mailstack, pytest.mark.browser]


def url(stack, query: str = "") -> str:
    return f"http://127.0.0.1:{port(stack, 'WEBMAIL')}/{query}"


def login(page, stack, address: str, password: str = PASSWORD) -> bool:
    """Through Roundcube's login form; True when the mailbox opened."""
    page.goto(url(stack))
    page.fill("#rcmloginuser", address)
    page.fill("#rcmloginpwd", password)
    page.click("#rcmloginsubmit")
    page.wait_for_selector("#messagelist, #rcmloginuser", state="attached")
    page.wait_for_load_state("load")
    return page.locator("#messagelist").count() > 0


def identity_id(stack, address: str) -> int:
    """Roundcube's id of the identity (as its settings page links to it)."""
    database = Path(stack.values["ROUNDCUBE_DIR"]) / "roundcube.sqlite"
    with contextlib.closing(sqlite3.connect(database)) as db:
        (found,) = db.execute(
            "SELECT identity_id FROM identities WHERE email = ? AND del = 0", (address,)
        ).fetchone()
    return found


def compose_signature(page, stack):
    """Open a new message; the HTML editor's signature block."""
    page.goto(url(stack, "?_task=mail&_action=compose"))
    editor = page.frame_locator("#composebody_ifr")
    signature = editor.locator("#_rc_sig")
    expect(signature).to_be_visible()
    return signature


def test_italian_ui_and_default_html_signature_from_the_portal(
    services, browser_page, domain_a, make_account
):
    alice, carol = make_account(domain_a, "alice"), make_account(domain_a, "carol")
    webmail_services.preferences_update(
        account=alice,
        language="it",
        time_zone="Europe/Rome",
        date_format="d.m.Y",
        time_format="H:i",
    )
    webmail_services.identity_rename(
        account=alice, address=alice.address, display_name="Alice Rossi"
    )
    webmail_services.signature_save(
        account=alice,
        identity=alice.address,
        name="Lavoro",
        html="<p><b>Alice Rossi</b> · Vendite</p>",
        text="",
        is_default=True,
        bcc_sender=True,
    )
    push(alice, carol)
    page = browser_page
    assert login(page, services, alice.address)

    assert page.locator("html").get_attribute("lang") == "it"
    expect(page.locator("a.compose").first).to_contain_text("Nuovo messaggio")

    signature = compose_signature(page, services)
    expect(signature).to_contain_text("Alice Rossi · Vendite")
    expect(signature.locator("b")).to_have_text("Alice Rossi")  # HTML, not text
    expect(page.locator("#_from option:checked")).to_contain_text("Alice Rossi")
    expect(page.locator("#_bcc")).to_have_value(re.compile(re.escape(alice.address)))  # BCC me

    # The company address book finds a colleague.
    page.goto(url(services, "?_task=addressbook"))
    page.locator("#directorylist").get_by_text("Rubrica aziendale").click()
    expect(page.locator("#contacts-table")).to_contain_text("Carol Test")
    page.fill("#searchform", "carol")
    page.press("#searchform", "Enter")
    expect(page.locator("#contacts-table")).to_contain_text("Carol Test")


def test_mandatory_corporate_signature(services, browser_page, domain_a, make_account):
    alice = make_account(domain_a, "alice")
    webmail_services.signature_save(
        account=alice,
        identity=alice.address,
        name="Mine",
        html="<p>My own signature</p>",
        text="",
        is_default=True,
        bcc_sender=False,
    )
    webmail_services.domain_webmail_update(
        domain=domain_a,
        values={
            "signature_policy": "mandatory",
            "signature_html": "<p><i>{full_name}</i> – ACME S.p.A.</p>",
            "signature_text": "",
        },
    )
    push(alice)
    page = browser_page
    assert login(page, services, alice.address)

    signature = compose_signature(page, services)
    expect(signature).to_contain_text("Alice Test – ACME S.p.A.")
    expect(signature).not_to_contain_text("My own signature")

    # Roundcube's identity form offers no signature to edit, and the "when to add the
    # signature" preference is gone.
    iid = identity_id(services, alice.address)
    page.goto(url(services, f"?_task=settings&_action=edit-identity&_iid={iid}&_framed=1"))
    expect(page.locator("form.propform")).to_contain_text("set in the portal")
    expect(page.locator("#rcmfd_signature")).to_have_count(0)
    expect(page.locator("#rcmfd_name")).to_have_count(0)
    page.goto(url(services, "?_task=settings&_action=edit-prefs&_section=compose&_framed=1"))
    expect(page.locator("form.propform")).to_be_visible()
    expect(page.locator("#rcmfd_show_sig")).to_have_count(0)


def test_webmail_off_or_deactivated_refuses_the_webmail_login(
    services, browser_page, domain_a, make_account
):
    account = make_account(domain_a, "dora")
    push(account)
    page = browser_page
    assert login(page, services, account.address)
    page.context.clear_cookies()

    others = [s for s in account.services if s != "webmail"]
    account_services.account_update(account=account, values={"services": others})
    push(account)
    assert not login(page, services, account.address)
    expect(page.locator("#messagestack")).to_contain_text("Login failed")
    assert imap_ok(services, account.address)  # only the webmail is off

    # The webmail's listener checks Webmail, not IMAP.
    no_imap = [s for s in account.services if s != "imap"] + ["webmail"]
    account_services.account_update(account=account, values={"services": no_imap})
    push(account)
    assert not imap_ok(services, account.address)
    assert login(page, services, account.address)
    page.context.clear_cookies()

    account_services.account_deactivate(account=account)
    push(account)
    assert not login(page, services, account.address)


def imap_login(stack, name: str, address: str) -> bool:
    client = IMAP(port(stack, name))
    try:
        client.login(address, PASSWORD)
    except imaplib.IMAP4.error:
        return False
    finally:
        client.logout()
    return True


def smtp_login(stack, name: str, address: str) -> bool:
    with smtplib.SMTP("127.0.0.1", port(stack, name), timeout=10) as client:
        try:
            client.login(address, PASSWORD)
        except smtplib.SMTPAuthenticationError:
            return False
    return True


def test_the_webmails_ports_follow_the_webmail_flag_only(services, domain_a, make_account):
    """Roundcube's own IMAP listener and submission port: Webmail on with IMAP and SMTP off
    reads and sends; then the reverse. Dovecot's auth cache keeps the two apart."""
    account = make_account(domain_a, "erin")
    account_services.account_update(account=account, values={"services": ["webmail"]})
    push(account)
    assert imap_login(services, "WEBMAIL_IMAP", account.address)
    assert smtp_login(services, "WEBMAIL_SUBMISSION", account.address)
    assert not imap_login(services, "IMAP", account.address)
    assert not smtp_login(services, "SUBMISSION", account.address)

    account_services.account_update(account=account, values={"services": ["imap", "smtp"]})
    push(account)
    assert imap_login(services, "IMAP", account.address)
    assert smtp_login(services, "SUBMISSION", account.address)
    assert not imap_login(services, "WEBMAIL_IMAP", account.address)
    assert not smtp_login(services, "WEBMAIL_SUBMISSION", account.address)
