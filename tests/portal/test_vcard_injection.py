"""Issue 9, finding 6: a lone CR in a job title forged a separate contact in colleagues'
address-book export. Every vCard value is escaped per RFC 6350 (CR, LF, ",", ";", "\\"), and
the panel no longer accepts a line break in a single-line field."""

import json

import pytest
from django.urls import reverse

from security import services as security_services

FORGED = "Boss\rEND:VCARD\rBEGIN:VCARD\rVERSION:4.0\rFN:Forged Person\rEMAIL:ceo@evil.test"


def cards(body: str) -> list[list[str]]:
    """The export parsed as a contacts app would: lines split on any line break, unfolded."""
    lines = body.replace("\r\n ", "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found, current = [], None
    for line in lines:
        if line == "BEGIN:VCARD":
            current = []
        elif line == "END:VCARD" and current is not None:
            found.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return found


@pytest.fixture
def mallory(domain_a, make_account):
    account = make_account(domain_a, "mallory", api_access=True)
    account.user.job_title = FORGED  # as stored before the panel refused line breaks
    account.user.save(update_fields=["job_title"])
    return account


def test_lone_cr_in_a_job_title_forges_no_contact(portal, alice, mallory):
    body = portal.get(reverse("portal:address_book_vcf")).content.decode()
    exported = cards(body)
    assert len(exported) == 2  # alice and mallory, nobody else
    emails = [line for card in exported for line in card if line.startswith("EMAIL")]
    assert not any("ceo@evil.test" in line for line in emails)
    title = next(line for card in exported for line in card if line.startswith("TITLE:"))
    assert title.startswith("TITLE:Boss\\nEND:VCARD\\nBEGIN:VCARD")


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\u2028b", "a\x85b"])
def test_every_line_break_and_special_character_is_escaped(portal, alice, value):
    alice.user.job_title = f"{value};x,y\\z"
    alice.user.save(update_fields=["job_title"])
    body = portal.get(reverse("portal:address_book_vcf")).content.decode()
    assert "TITLE:a\\nb\\;x\\,y\\\\z\r\n" in body


def test_panel_and_api_refuse_a_line_break_in_a_job_title(client, owner, alice):
    client.force_login(owner)
    response = client.post(
        f"/accounts/{alice.pk}/master/",
        {
            "first_name": "Alice",
            "last_name": "Test",
            "job_title": FORGED,
            "language": "en",
            "time_zone": "UTC",
        },
    )
    assert response.status_code == 200 and "single line" in response.content.decode()
    from accounts import services as account_services

    account_services.account_update(account=alice, values={"api_access": True})
    _token, key = security_services.token_create(user=alice.user, name="t")
    response = client.patch(
        "/api/v1/me/",
        json.dumps({"job_title": FORGED}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 400
    alice.user.refresh_from_db()
    assert alice.user.job_title == ""
