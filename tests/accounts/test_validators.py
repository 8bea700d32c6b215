"""The server-side rules for local parts, addresses, forwards and IP restrictions
(accounts/validators.py), which forms, the API and the services share. Each refusal says why."""

import pytest
from django.core.exceptions import ValidationError

from accounts.validators import (
    normalize_address,
    normalize_forwards,
    normalize_local_part,
    normalize_networks,
)


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
    assert "Use letters, digits, dots" in message(normalize_local_part, value)


@pytest.mark.parametrize("value", ["abuse", " Abuse "])
def test_the_providers_own_local_parts_are_reserved(value):
    assert "is reserved for the provider" in message(normalize_local_part, value)


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
    assert "is not a valid email address" in message(normalize_address, value)


def test_a_refused_address_is_quoted_at_most_100_characters():
    text = message(normalize_address, "x" * 300)
    assert "x" * 100 in text and "x" * 101 not in text
    text = message(normalize_address, "x" * 300 + "@bad..example")
    assert "x" * 100 in text and "x" * 101 not in text


def test_forwards_normalized_deduplicated_blank_lines_skipped():
    assert normalize_forwards(
        ["A@Example.com", "", "  ", "b@example.com"], own_address="me@a.example"
    ) == ["a@example.com", "b@example.com"]
    assert normalize_forwards([], own_address="me@a.example") == []


def test_forwards_refuse_self_duplicates_and_more_than_twenty():
    own = "me@a.example"
    assert "cannot forward to itself" in message(
        normalize_forwards, ["ME@a.example"], own_address=own
    )
    assert "b@example.com is listed twice" in message(
        normalize_forwards, ["b@example.com", "B@example.com"], own_address=own
    )
    twenty = [f"f{n}@example.com" for n in range(20)]
    assert normalize_forwards(twenty, own_address=own) == twenty
    assert "At most 20 forwarding addresses" in message(
        normalize_forwards, [*twenty, "f20@example.com"], own_address=own
    )
    assert "is not a valid email address" in message(normalize_forwards, ["nope"], own_address=own)


def test_networks_canonical_and_deduplicated():
    assert normalize_networks(
        [" 192.0.2.7 ", "10.1.2.3/8", "", "2001:DB8::/32", "10.0.0.0/8", "192.0.2.7/32"]
    ) == ["192.0.2.7/32", "10.0.0.0/8", "2001:db8::/32"]


def test_networks_refuse_garbage_and_more_than_five():
    for value in ("1.2.3.4/40", "999.1.1.1", "not-an-ip", "::1/200"):
        assert "is not an IP address or CIDR class" in message(normalize_networks, [value])
    text = message(normalize_networks, ["x" * 100])
    assert "x" * 60 in text and "x" * 61 not in text
    five = [f"10.0.0.{n}" for n in range(5)]
    assert len(normalize_networks(five)) == 5
    assert "At most 5 IP addresses" in message(normalize_networks, [*five, "10.0.0.9"])
    assert len(normalize_networks([*five, "10.0.0.0/32"])) == 5  # a duplicate is not a sixth
