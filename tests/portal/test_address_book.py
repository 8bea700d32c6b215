"""Company address book: visible accounts of the user's domain, search, vCard 4.0 export."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as account_services


@pytest.fixture
def colleagues(domain_a, domain_b, make_account, alice):
    carol = make_account(domain_a, "carol")
    carol.user.job_title = "Head of Sales, EMEA; Italy"
    carol.user.phone = "+39 06 1234567"
    carol.user.save(update_fields=["job_title", "phone"])
    hidden = make_account(domain_a, "hidden", in_address_book=False)
    offline = make_account(domain_a, "offline")
    account_services.account_deactivate(account=offline)
    other = make_account(domain_b, "stranger")
    return {"carol": carol, "hidden": hidden, "offline": offline, "other": other}


def test_lists_visible_colleagues_only(portal, alice, colleagues):
    body = portal.get(reverse("portal:address_book")).content.decode()
    assert "carol@a.example" in body and alice.address in body
    assert "Head of Sales, EMEA; Italy" in body
    for name in ("hidden", "offline", "other"):
        assert colleagues[name].address not in body, name


def test_search(portal, colleagues):
    body = portal.get(reverse("portal:address_book"), {"q": "sales"}).content.decode()
    assert "mailto:carol@a.example" in body and "mailto:alice@a.example" not in body
    body = portal.get(reverse("portal:address_book"), {"q": "hidden"}).content.decode()
    assert "hidden@a.example" not in body


def test_admin_toggle_hides_from_book(operator, portal, colleagues):
    carol = colleagues["carol"]
    admin = Client()
    admin.force_login(operator)
    response = admin.post(
        reverse("accounts:settings", args=[carol.pk, "webmail"]),
        {
            "webmail_language": "en",
            "webmail_time_zone": "UTC",
            "date_format": "d/m/Y",
            "time_format": "H:i",
        },
    )
    assert response.status_code == 302
    body = portal.get(reverse("portal:address_book")).content.decode()
    assert "carol@a.example" not in body


def unfold(text: str) -> list[str]:
    """RFC 6350 3.2: a CRLF followed by one space or tab continues the previous line."""
    assert "\n" not in text.replace("\r\n", "")
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]


def unescape(value: str) -> str:
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            nxt = next(chars)
            out.append("\n" if nxt in "nN" else nxt)
        else:
            out.append(char)
    return "".join(out)


def split_unescaped(value: str, sep: str) -> list[str]:
    parts, current, chars = [], "", iter(value)
    for char in chars:
        if char == "\\":
            current += char + next(chars)
        elif char == sep:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def parse_vcards(text: str) -> list[dict[str, list[str]]]:
    cards, card = [], None
    for line in unfold(text):
        name_params, _colon, value = line.partition(":")
        name = name_params.split(";")[0].upper()
        if name == "BEGIN":
            card = {}
        elif name == "END":
            cards.append(card)
            card = None
        else:
            card.setdefault(name, []).append(value)
    return cards


def test_vcard_export_parses_back(portal, colleagues):
    carol = colleagues["carol"]
    carol.first_name, carol.last_name = "Carol", "D'Àngelo, Jr."
    carol.save(update_fields=["first_name", "last_name"])
    response = portal.get(reverse("portal:address_book_vcf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    assert text.endswith("\r\n")
    for line in text.split("\r\n"):
        assert len(line.encode()) <= 75, line
    cards = {c["EMAIL"][0]: c for c in parse_vcards(text)}
    assert set(cards) == {"alice@a.example", "carol@a.example"}
    card = cards["carol@a.example"]
    assert card["VERSION"] == ["4.0"]
    assert unescape(card["FN"][0]) == "Carol D'Àngelo, Jr."
    family, given, *_rest = [unescape(p) for p in split_unescaped(card["N"][0], ";")]
    assert (family, given) == ("D'Àngelo, Jr.", "Carol")
    assert unescape(card["TITLE"][0]) == "Head of Sales, EMEA; Italy"
    assert card["TEL"] == ["+39 06 1234567"]


def test_long_values_fold_without_splitting_characters(portal, alice):
    alice.user.job_title = "Responsabile è " * 9
    alice.user.save(update_fields=["job_title"])
    text = portal.get(reverse("portal:address_book_vcf")).content.decode()
    assert "\r\n " in text  # folded
    card = parse_vcards(text)[0]
    assert unescape(card["TITLE"][0]) == ("Responsabile è " * 9)


def test_vcard_search_export(portal, colleagues):
    text = portal.get(reverse("portal:address_book_vcf"), {"q": "carol"}).content.decode()
    assert [c["EMAIL"][0] for c in parse_vcards(text)] == ["carol@a.example"]


def test_hidden_accounts_not_in_export_or_api(portal, colleagues):
    text = portal.get(reverse("portal:address_book_vcf")).content.decode()
    data = portal.get(reverse("portal:api_settings")).json()
    for name in ("hidden", "offline", "other"):
        address = colleagues[name].address
        assert address not in text
        assert address not in [e["email"] for e in data["address_book"]]


def test_constant_queries_however_many_colleagues(
    portal, alice, domain_a, make_account, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert portal.get(reverse("portal:address_book")).status_code == 200
        return len(queries)

    count()  # warm-up: the first request of a session does one-off work
    few = count()
    plan = domain_a.organization.plan
    plan.max_accounts = 50
    plan.save(update_fields=["max_accounts"])
    for i in range(12):
        make_account(domain_a, f"colleague{i}")
    assert count() == few
    with django_assert_max_num_queries(8):
        portal.get(reverse("portal:address_book"))
