"""Server-side rules for addresses, forwards and IP restrictions (forms and services share them)."""

import ipaddress
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from domains.validators import normalize_domain_name

from .models import MAX_FORWARDS, MAX_NETWORKS

LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9_+-])?$")
# abuse@ of every domain belongs to the provider (PLATFORM_ABUSE_ADDRESS). postmaster@ and
# support@ are not reserved: they go to the organization's owner until an account takes them.
RESERVED_LOCAL_PARTS = {"abuse"}


def normalize_local_part(value: str) -> str:
    local = (value or "").strip().lower()
    if not LOCAL_PART.match(local) or ".." in local:
        raise ValidationError(
            _("Use letters, digits, dots, hyphens, underscores or plus signs (at most 64).")
        )
    if local in RESERVED_LOCAL_PARTS:
        raise ValidationError(_("%(local)s@ is reserved for the provider.") % {"local": local})
    return local


def normalize_address(value: str) -> str:
    """A full address with its domain in punycode, lowercased."""
    value = (value or "").strip()
    if value.count("@") != 1:
        raise ValidationError(_("%(value)s is not a valid email address.") % {"value": value[:100]})
    local, _at, domain = value.rpartition("@")
    try:
        address = f"{local.lower()}@{normalize_domain_name(domain)}"
        validate_email(address)
    except ValidationError:
        raise ValidationError(
            _("%(value)s is not a valid email address.") % {"value": value[:100]}
        ) from None
    return address


def normalize_forwards(values: list[str], *, own_address: str) -> list[str]:
    """At most 20 valid, distinct addresses, never the account itself."""
    result: list[str] = []
    for value in values:
        if not value.strip():
            continue
        address = normalize_address(value)
        if address == own_address:
            raise ValidationError(_("An account cannot forward to itself."))
        if address in result:
            raise ValidationError(_("%(address)s is listed twice.") % {"address": address})
        result.append(address)
    if len(result) > MAX_FORWARDS:
        raise ValidationError(
            _("At most %(max)d forwarding addresses are allowed.") % {"max": MAX_FORWARDS}
        )
    return result


def normalize_networks(values: list[str]) -> list[str]:
    """At most 5 IPv4/IPv6 addresses or CIDR classes, in canonical form."""
    result: list[str] = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValidationError(
                _("%(value)s is not an IP address or CIDR class.") % {"value": value[:60]}
            ) from None
        text = str(network)
        if text not in result:
            result.append(text)
    if len(result) > MAX_NETWORKS:
        raise ValidationError(
            _("At most %(max)d IP addresses or classes are allowed.") % {"max": MAX_NETWORKS}
        )
    return result
