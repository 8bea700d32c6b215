"""The address book's order (last name, first name, address) on the page, in the vCard export
and in the webmail's JSON, and its 5,000-entry cap with `address_book_truncated`."""

import re
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import EmailAccount
from webmail_settings import services

# Created in this order (so the database's natural order differs from the book's):
PEOPLE = [
    ("bob", "Bob", "Young"),
    ("amy", "Amy", "Young"),
    ("amy2", "Amy", "Young"),  # same name as amy: the address decides ("amy2@" < "amy@")
    ("zoe", "Zoe", "Adams"),
]
IN_ORDER = [
    "zoe@a.example",  # Adams
    "alice@a.example",  # Test, Alice
    "amy2@a.example",  # Young, Amy
    "amy@a.example",  # Young, Amy
    "bob@a.example",  # Young, Bob
]


@pytest.fixture
def people(domain_a, make_account, alice):
    for local, first, last in PEOPLE:
        account = make_account(domain_a, local)
        EmailAccount.objects.filter(pk=account.pk).update(first_name=first, last_name=last)


def test_the_page_lists_by_last_name_first_name_address(portal, people):
    response = portal.get(reverse("portal:address_book"))
    assert response.status_code == 200
    found = re.findall(r'href="mailto:([^"]+)"', response.content.decode())
    assert list(dict.fromkeys(found)) == IN_ORDER


def test_the_vcard_export_keeps_the_order(portal, people):
    response = portal.get(reverse("portal:address_book_vcf"))
    assert response.status_code == 200
    emails = re.findall(r"^EMAIL[^:]*:(.+?)\r$", response.content.decode(), re.MULTILINE)
    assert emails == IN_ORDER


def test_the_webmail_gets_the_same_order(portal, people):
    response = portal.get(reverse("portal:api_settings"))
    assert response.status_code == 200
    book = response.json()["address_book"]
    assert [entry["email"] for entry in book] == IN_ORDER
    assert response.json()["address_book_truncated"] is False


def test_the_webmail_reads_at_most_5001_entries(portal, alice):
    with CaptureQueriesContext(connection) as ctx:
        assert portal.get(reverse("portal:api_settings")).status_code == 200
    order = '"last_name" ASC, "accounts_emailaccount"."first_name" ASC'
    book = [q["sql"] for q in ctx.captured_queries if order in q["sql"]]
    assert len(book) == 1 and book[0].endswith('"address" ASC LIMIT 5001'), book


@pytest.mark.parametrize(
    ("entries", "listed", "truncated"), [(5000, 5000, False), (5001, 5000, True)]
)
def test_at_most_5000_entries_and_the_flag_says_when_more_exist(
    alice, monkeypatch, entries, listed, truncated
):
    """A stand-in book of `entries` people (bulk-inserting 5,001 mailboxes takes seconds)."""
    person = SimpleNamespace(
        display_name="P", address="p@a.example", user=SimpleNamespace(job_title="", phone="")
    )
    monkeypatch.setattr(services, "address_book", lambda domain: [person] * entries)
    data = services.effective_settings(alice)
    assert len(data["address_book"]) == listed
    assert data["address_book_truncated"] is truncated
