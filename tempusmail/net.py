"""The client's address, and whether an account's IP restrictions let it in."""

import ipaddress
from functools import cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def in_networks(ip: str | None, networks: list[str] | tuple[str, ...]) -> bool:
    address = _parse(ip or "")
    if address is None:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in net for net in _networks(tuple(networks)))


def client_ip(request) -> str:
    """REMOTE_ADDR, unless it is one of settings.TRUSTED_PROXIES: then the right-most
    X-Forwarded-For hop that is not itself a trusted proxy. A client cannot forge its
    address by sending the header directly."""
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = tuple(settings.TRUSTED_PROXIES)
    if not trusted or not in_networks(remote, trusted):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if _parse(hop) is None:
            break
        if not in_networks(hop, trusted):
            return str(_parse(hop))
    return remote


def ip_allowed(user, ip: str | None) -> bool:
    """Mailbox owners with IP restrictions may only come from their networks."""
    account = getattr(user, "mailbox", None) if user is not None else None
    networks = getattr(account, "allowed_networks", None)
    return not networks or in_networks(ip, networks)


def client_key(ip: str | None) -> str:
    """What one client is when counting (sign-in throttling): its IPv4 address, or its IPv6
    /64, one subscriber's network, where a host picks any of 2^64 addresses at will.
    IPv4-mapped IPv6 counts as IPv4."""
    address = _parse(ip or "")
    if address is None:
        return str(ip or "")[:64]
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
