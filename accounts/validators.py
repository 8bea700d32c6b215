"""Server-side rules for addresses, forwards and IP restrictions (forms and services share them)."""

import ipaddress
import re
from collections import deque

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from domains.validators import normalize_domain_name

from .models import MAX_FORWARDS, MAX_NETWORKS, Alias, EmailAccount, Group

FIRST_YEAR, LAST_YEAR = 2000, 2100
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
    if len(local.encode()) > 64:  # RFC 5321, 4.5.3.1.1: servers may refuse longer ones
        raise ValidationError(
            _("%(value)s is not a valid email address: at most 64 characters before the @.")
            % {"value": value[:100]}
        )
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


# How far a loop search goes; a longer chain than this is not a realistic configuration.
MAX_LOOP_SEARCH = 1000


def check_forward_loop(
    *,
    address: str,
    organization_id: int,
    forward_to: list[str],
    keep_copy: bool,
    new_aliases: dict[str, str] | None = None,
) -> None:
    """Refuse forwarding that would send mail round in a circle.

    Postfix expands forwards and aliases (deploy/postfix) until every address stops: a
    mailbox that keeps a copy stops there, so a circle through it ends at once. A circle of
    mailboxes that all forward without keeping a copy never ends, and every message to any
    address in it is deferred ("4.6.0 Alias expansion error") and retried by its sender for
    days. This looks for such a circle through `address` (after the change: its forwards,
    its copy flag, and any alias being added as new_aliases {alias: mailbox}); the error
    names the chain, with other organizations' addresses left out."""
    if keep_copy or not forward_to:
        return
    # The account itself counts as a mailbox even while it is being created.
    new_aliases = {**(new_aliases or {}), address: address}
    parent: dict[str, tuple[str, str] | None] = {address: None}
    queue = deque([address])
    while queue and len(parent) < MAX_LOOP_SEARCH:
        current = queue.popleft()
        if current == address:
            targets = forward_to
        else:
            row = _forwarding(current)
            if row is None or row[1] or not row[0]:
                continue  # outside, keeps a copy, or no forwards: mail stops here
            targets = row[0]
        resolved = _resolve(targets, new_aliases)
        for target in targets:
            for mailbox in resolved.get(target, ()):
                if mailbox == address:
                    chain = _chain(parent, current) + [(target, mailbox)]
                    raise ValidationError(_loop_message(chain, address, organization_id))
                if mailbox not in parent:
                    parent[mailbox] = (current, target)
                    queue.append(mailbox)


def _forwarding(mailbox: str) -> tuple[list[str], bool] | None:
    row = (
        EmailAccount.objects.filter(address=mailbox, deleting=False)
        .values_list("forward_to", "forward_keep_copy")
        .first()
    )
    return (list(row[0] or []), row[1]) if row else None


def _resolve(targets: list[str], new_aliases: dict[str, str]) -> dict[str, list[str]]:
    """Each target as the mailboxes it delivers into: an alias becomes its mailbox, a group
    its active members (Postfix expands both)."""
    found = {
        a: [m]
        for a, m in Alias.objects.filter(address__in=targets).values_list(
            "address", "account__address"
        )
    }
    found.update({t: [new_aliases[t]] for t in targets if t in new_aliases})
    for group, member in Group.objects.filter(
        address__in=targets, members__is_active=True, members__deleting=False
    ).values_list("address", "members__address"):
        found.setdefault(group, []).append(member)
    mailboxes = set(
        EmailAccount.objects.filter(address__in=targets, deleting=False).values_list(
            "address", flat=True
        )
    )
    found.update({t: [t] for t in mailboxes})
    return found


def _chain(parent, mailbox: str) -> list[tuple[str, str]]:
    """(address written, mailbox it reaches) from the start to `mailbox`."""
    hops = []
    while parent[mailbox] is not None:
        previous, target = parent[mailbox]
        hops.append((target, mailbox))
        mailbox = previous
    hops.append((mailbox, mailbox))
    return hops[::-1]


def _loop_message(chain, address: str, organization_id: int) -> str:
    mailboxes = {mailbox for _target, mailbox in chain}
    ours = set(
        EmailAccount.objects.filter(
            address__in=mailboxes, organization_id=organization_id
        ).values_list("address", flat=True)
    ) | {address}
    shown = []
    for target, mailbox in chain:
        if mailbox not in ours:
            shown.append(_("(an address of another organization)"))
        elif target != mailbox:
            shown.append(
                _("%(alias)s (alias of %(mailbox)s)") % {"alias": target, "mailbox": mailbox}
            )
        else:
            shown.append(mailbox)
    return _(
        "Forwarding loop: %(chain)s. Mail to these addresses would go round without ever "
        "being delivered; keep a copy in one of these mailboxes or remove a forward."
    ) % {"chain": " → ".join(shown)}


def validate_moment(value) -> None:
    """Dates people schedule (the autoresponder's start and end) lie between 2000 and 2100:
    a year like 9999 overflows once converted to UTC and means nothing anyway."""
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(
            _("Choose a date between %(first)d and %(last)d.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR}
        )
