"""The server-side rules for local parts, addresses, forwards and IP restrictions
(accounts/validators.py), which forms, the API and the services share. Each refusal says why."""

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from accounts.validators import (
    normalize_address,
    normalize_forwards,
    normalize_local_part,
    normalize_networks,
    validate_moment,
)

LOCAL_PART_RULE = "Use letters, digits, dots, hyphens, underscores or plus signs (at most 64)."


def message(call, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as refused:
        call(*args, **kwargs)
    return " ".join(refused.value.messages)


@pytest.mark.parametrize(
    ("value", "local"),
    [
        ("alice", "alice"),
        ("  Alice.Smith  ", "alice.smith"),
        ("a", "a"),
        ("9", "9"),
        ("a_b+c-d", "a_b+c-d"),
        ("x" * 64, "x" * 64),
        ("ends_", "ends_"),
        ("ends+", "ends+"),
        ("ends-", "ends-"),
    ],
)
def test_local_parts_accepted_and_lowercased(value, local):
    assert normalize_local_part(value) == local


@pytest.mark.parametrize(
    "value",
    ["", "   ", None, "x" * 65, ".alice", "alice.", "al..ice", "-alice", "_alice", "al ice",
     "al@ice", "alïce", "al\x00ice", "al/ice"],
)  # fmt: skip
def test_local_parts_refused(value):
    assert message(normalize_local_part, value) == LOCAL_PART_RULE


@pytest.mark.parametrize("value", ["abuse", " Abuse "])
def test_the_providers_own_local_parts_are_reserved(value):
    assert message(normalize_local_part, value) == "abuse@ is reserved for the provider."


@pytest.mark.parametrize("value", ["postmaster", "support"])
def test_postmaster_and_support_can_be_taken_by_the_tenant(value):
    """Seed 003: they default to the owner's address, and an account or alias takes them over."""
    assert normalize_local_part(value) == value


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("Bob@Example.COM", "bob@example.com"),
        ("  bob@example.com ", "bob@example.com"),
        ("bob@exämple.test", "bob@xn--exmple-cua.test"),
        ("first.last+tag@sub.example.org", "first.last+tag@sub.example.org"),
    ],
)
def test_addresses_normalized(value, address):
    assert normalize_address(value) == address


@pytest.mark.parametrize(
    "value",
    ["", "bob", "bob@", "@example.com", "a@b@example.com", "bob@-bad-.example", "bob@localhost",
     "bo b@example.com", "bob@example..com", None],
)  # fmt: skip
def test_addresses_refused(value):
    quoted = (value or "").strip()
    assert message(normalize_address, value) == f"{quoted} is not a valid email address."


def test_a_refused_address_is_quoted_at_most_100_characters():
    assert message(normalize_address, "x" * 300) == "x" * 100 + " is not a valid email address."
    assert message(normalize_address, "x@" + "x" * 300 + ".example") == (
        "x@" + "x" * 98 + " is not a valid email address."
    )


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("Jörg@Bücher.Example", None),  # a local part outside ASCII: refused
        ("joerg@BÜCHER.example", "joerg@xn--bcher-kva.example"),
        ("joerg@xn--bcher-kva.example", "joerg@xn--bcher-kva.example"),
        ("info@пример.испытание", "info@xn--e1afmkfd.xn--80akhbyknj4f"),
        ("joerg@bücher.example.", "joerg@xn--bcher-kva.example"),
    ],
)
def test_international_domains_are_stored_in_punycode(value, address):
    if address is None:
        assert message(normalize_address, value) == f"{value} is not a valid email address."
    else:
        assert normalize_address(value) == address


def test_address_lengths():
    """A label of the domain has at most 63 characters, the domain at most 253."""
    label = "d" * 63
    assert normalize_address(f"bob@{label}.example") == f"bob@{label}.example"
    assert message(normalize_address, f"bob@{label}d.example") == (
        f"bob@{label}d.example is not a valid email address."
    )
    domain = ".".join(["d" * 49] * 5) + ".test"  # 254 characters
    assert message(normalize_address, f"bob@{domain}") == (
        f"bob@{domain}"[:100] + " is not a valid email address."
    )
    assert normalize_address(f"bob@{domain[1:]}") == f"bob@{domain[1:]}"
    assert normalize_address("x" * 64 + "@example.com") == "x" * 64 + "@example.com"
    assert message(normalize_address, "x" * 65 + "@example.com") == (
        "x" * 65 + "@example.com is not a valid email address: at most 64 characters before the @."
    )
    assert message(normalize_address, "é" * 33 + "@example.com").endswith("before the @.")


def test_forwards_normalized_deduplicated_blank_lines_skipped():
    assert normalize_forwards(
        ["A@Example.com", "", "  ", "b@Bücher.example"], own_address="me@a.example"
    ) == ["a@example.com", "b@xn--bcher-kva.example"]
    assert normalize_forwards([], own_address="me@a.example") == []


def test_forwards_refuse_self_duplicates_and_more_than_twenty():
    own = "me@a.example"
    assert normalize_forwards(["you@a.example"], own_address=own) == ["you@a.example"]
    assert message(normalize_forwards, ["ME@a.example"], own_address=own) == (
        "An account cannot forward to itself."
    )
    assert message(normalize_forwards, ["b@example.com", "B@example.com"], own_address=own) == (
        "b@example.com is listed twice."
    )
    twenty = [f"f{n}@example.com" for n in range(20)]
    assert normalize_forwards(twenty, own_address=own) == twenty
    assert message(normalize_forwards, [*twenty, "f20@example.com"], own_address=own) == (
        "At most 20 forwarding addresses are allowed."
    )
    assert message(normalize_forwards, ["nope"], own_address=own) == (
        "nope is not a valid email address."
    )


def test_networks_canonical_and_deduplicated():
    assert normalize_networks(
        [" 192.0.2.7 ", "10.1.2.3/8", "", "2001:DB8::/32", "10.0.0.0/8", "192.0.2.7/32"]
    ) == ["192.0.2.7/32", "10.0.0.0/8", "2001:db8::/32"]


def test_networks_refuse_garbage_and_more_than_five():
    for value in ("1.2.3.4/40", "999.1.1.1", "not-an-ip", "::1/200"):
        assert message(normalize_networks, [f" {value} "]) == (
            f"{value} is not an IP address or CIDR class."
        )
    assert message(normalize_networks, ["x" * 100]) == (
        "x" * 60 + " is not an IP address or CIDR class."
    )
    five = [f"10.0.0.{n}" for n in range(5)]
    assert normalize_networks(five) == [f"{n}/32" for n in five]
    assert message(normalize_networks, [*five, "10.0.0.9"]) == (
        "At most 5 IP addresses or classes are allowed."
    )
    assert len(normalize_networks([*five, "10.0.0.0/32"])) == 5  # a duplicate is not a sixth


@pytest.mark.parametrize("year", [2000, 2026, 2100])
def test_scheduled_dates_between_2000_and_2100(year):
    assert validate_moment(datetime(year, 1 if year == 2000 else 12, 1, tzinfo=UTC)) is None
    assert validate_moment(date(year, 6, 30)) is None


@pytest.mark.parametrize("year", [1, 1999, 2101, 9999])
def test_scheduled_dates_outside_are_refused(year):
    assert message(validate_moment, date(year, 1, 1)) == "Choose a date between 2000 and 2100."


def test_no_date_is_no_schedule():
    assert validate_moment(None) is None
