"""The client address behind proxies (tempusmail/net.py): REMOTE_ADDR unless it is a trusted
proxy, then the right-most X-Forwarded-For hop that is not one; CIDR classes and chains of
several proxies; and whether an account's IP restrictions let an address in."""

from types import SimpleNamespace

import pytest
from django.test import RequestFactory

from tempusmail.net import client_ip, client_key, in_networks, ip_allowed


def ip_of(settings, remote, forwarded=None, trusted=()):
    settings.TRUSTED_PROXIES = list(trusted)
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "client"),
    [
        # no trusted proxy: the header is the client's own words, never believed
        ("203.0.113.9", "192.0.2.10", (), "203.0.113.9"),
        # the peer is not a trusted proxy: same
        ("203.0.113.9", "192.0.2.10", ("10.0.0.1",), "203.0.113.9"),
        # one trusted proxy: the hop it saw, not the left-most one a client can invent
        ("10.0.0.1", "198.51.100.66, 192.0.2.10", ("10.0.0.1",), "192.0.2.10"),
        ("10.0.0.1", "192.0.2.10", ("10.0.0.1",), "192.0.2.10"),
        # proxies given as a CIDR class, and a chain of them: skip every trusted hop
        ("10.1.2.3", "198.51.100.66, 192.0.2.10, 10.9.9.9", ("10.0.0.0/8",), "192.0.2.10"),
        (
            "10.1.2.3",
            "192.0.2.10,10.2.0.1 , 172.16.0.5",
            ("10.0.0.0/8", "172.16.0.0/12"),
            "192.0.2.10",
        ),
        # IPv6 proxies and clients (brackets as some proxies write them)
        ("2001:db8::1", "[2001:db8:beef::7]", ("2001:db8::/64",), "2001:db8:beef::7"),
        # a trusted proxy that forwarded nothing, or only other trusted proxies: the peer
        ("10.0.0.1", None, ("10.0.0.1",), "10.0.0.1"),
        ("10.0.0.1", "10.0.0.2, 10.0.0.3", ("10.0.0.0/8",), "10.0.0.1"),
        # garbage in the chain stops the walk there: nothing left of it is believed
        ("10.0.0.1", "192.0.2.10, not-an-ip", ("10.0.0.1",), "10.0.0.1"),
        ("10.0.0.1", "192.0.2.10, not-an-ip, 10.0.0.2", ("10.0.0.0/8",), "10.0.0.1"),
        ("10.0.0.1", " , 192.0.2.10,", ("10.0.0.1",), "192.0.2.10"),
    ],
)
def test_client_ip(settings, remote, forwarded, trusted, client):
    assert ip_of(settings, remote, forwarded, trusted) == client


@pytest.mark.parametrize(
    ("ip", "networks", "inside"),
    [
        ("192.0.2.10", ["192.0.2.0/24"], True),
        ("192.0.3.10", ["192.0.2.0/24"], False),
        ("192.0.2.10", ["10.0.0.0/8", "192.0.2.10"], True),
        ("::ffff:192.0.2.10", ["192.0.2.0/24"], True),  # IPv4 seen through an IPv6 socket
        ("2001:db8::5", ["2001:db8::/32"], True),
        ("2001:db9::5", ["2001:db8::/32"], False),
        ("[2001:db8::5]", ["2001:db8::/32"], True),
        (" 192.0.2.10 ", ["192.0.2.0/24"], True),
        ("", ["0.0.0.0/0"], False),
        (None, ["0.0.0.0/0"], False),
        ("not-an-ip", ["0.0.0.0/0"], False),
        ("192.0.2.10", [], False),
    ],
)
def test_in_networks(ip, networks, inside):
    assert in_networks(ip, networks) is inside


def test_ip_allowed_only_restricts_mailboxes_with_networks():
    restricted = SimpleNamespace(mailbox=SimpleNamespace(allowed_networks=["192.0.2.0/24"]))
    assert ip_allowed(restricted, "192.0.2.7") is True
    assert ip_allowed(restricted, "198.51.100.7") is False
    assert ip_allowed(restricted, None) is False
    free = SimpleNamespace(mailbox=SimpleNamespace(allowed_networks=[]))
    assert ip_allowed(free, "198.51.100.7") is True
    assert ip_allowed(SimpleNamespace(), "198.51.100.7") is True  # an admin: no mailbox
    assert ip_allowed(None, "198.51.100.7") is True


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("192.0.2.10", "192.0.2.10"),
        ("::ffff:192.0.2.10", "192.0.2.10"),  # IPv4-mapped counts as the IPv4 client
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),  # one subscriber's /64
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),  # the next /64 is another client
        ("not-an-ip", "not-an-ip"),
        ("x" * 100, "x" * 64),  # garbage is cut, never a huge cache key
        ("", ""),
        (None, ""),
    ],
)
def test_client_key(ip, key):
    assert client_key(ip) == key
