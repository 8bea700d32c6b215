"""CalDAV and CardDAV through Radicale, logging in with the mailbox password via Dovecot: a real
client library (caldav) and plain WebDAV requests, as a phone or Thunderbird would."""

from datetime import datetime, timedelta
from urllib.parse import quote

import caldav
import niquests
import pytest

from accounts import services as account_services
from tests.conftest import PASSWORD

from .conftest import port, push

pytestmark = [pytest.mark.mailstack]


def dav_url(stack, address: str = "") -> str:
    return f"http://127.0.0.1:{port(stack, 'DAV')}/{address}"


def propfind(stack, path: str, address: str, password: str = PASSWORD, depth: str = "1"):
    return niquests.request(
        "PROPFIND",
        dav_url(stack, path),
        auth=(address, password),
        headers={"Depth": depth},
        timeout=10,
    )


def report_cards(stack, path: str, address: str):
    body = (
        '<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/>'
        "</D:prop></C:addressbook-query>"
    )
    return niquests.request(
        "REPORT",
        dav_url(stack, path),
        auth=(address, PASSWORD),
        headers={"Depth": "1", "Content-Type": "application/xml"},
        data=body,
        timeout=10,
    )


def test_create_an_event_and_read_it_back(services, domain_a, make_account):
    account = make_account(domain_a, "cal1")
    push(account)
    client = caldav.DAVClient(url=dav_url(services), username=account.address, password=PASSWORD)
    principal = client.principal()
    calendar = principal.make_calendar(name="Work")
    start = datetime(2031, 5, 4, 10, 0)
    calendar.save_event(dtstart=start, dtend=start + timedelta(hours=1), summary="Planning")

    again = caldav.DAVClient(url=dav_url(services), username=account.address, password=PASSWORD)
    calendars = again.principal().calendars()
    assert [c.get_display_name() for c in calendars] == ["Work"]
    events = calendars[0].events()
    assert len(events) == 1
    assert events[0].icalendar_component["summary"] == "Planning"


def test_dav_off_or_deactivated_is_401(services, domain_a, make_account):
    account = make_account(domain_a, "cal2")
    push(account)
    assert propfind(services, f"{account.address}/", account.address).status_code == 207
    assert (
        propfind(services, f"{account.address}/", account.address, "Wrong-pass-1").status_code
        == 401
    )
    services_without_dav = [s for s in account.services if s != "dav"]
    account_services.account_update(account=account, values={"services": services_without_dav})
    push(account)
    assert propfind(services, f"{account.address}/", account.address).status_code == 401
    account_services.account_update(
        account=account, values={"services": [*services_without_dav, "dav"]}
    )
    push(account)
    assert propfind(services, f"{account.address}/", account.address).status_code == 207
    account_services.account_deactivate(account=account)
    push(account)
    assert propfind(services, f"{account.address}/", account.address).status_code == 401


def test_company_address_book_lists_visible_colleagues_only(services, domain_a, make_account):
    reader = make_account(domain_a, "reader")
    visible = make_account(domain_a, "visible")
    hidden = make_account(domain_a, "hidden")
    account_services.account_update(account=hidden, values={"in_address_book": False})
    push(reader, visible, hidden)

    home = propfind(services, f"{reader.address}/", reader.address)
    assert home.status_code == 207
    # Discovered with the user's own calendars and address books.
    assert f"/{quote(reader.address)}/company/" in home.text

    cards = report_cards(services, f"{reader.address}/company/", reader.address)
    assert cards.status_code == 207
    assert "visible@a.example" in cards.text
    assert "reader@a.example" in cards.text
    assert "hidden@a.example" not in cards.text

    # Read-only, and nobody else's.
    put = niquests.put(
        dav_url(services, f"{reader.address}/company/new.vcf"),
        auth=(reader.address, PASSWORD),
        data="BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:X\r\nEND:VCARD\r\n",
        headers={"Content-Type": "text/vcard"},
        timeout=10,
    )
    assert put.status_code == 403
    other = propfind(services, f"{reader.address}/company/", visible.address)
    assert other.status_code in (403, 404)
