"""Groups (seed 003): an address on one of the organization's domains whose mail reaches every
active member. The mail system learns the expansion from a push (accounts.sync.group_push:
Postfix virtual alias rows); a member's deactivation, reactivation or deletion re-pushes its
groups (accounts.services.bump_groups_of)."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from domains.models import Domain, Organization
from tempusmail.audit import audit
from tempusmail.provisioning import enqueue_on_commit

from .models import EmailAccount, Group
from .services import address_taken, bump_group
from .tasks import push_group, remove_group
from .validators import check_forward_loop, normalize_address, normalize_local_part

MAX_MEMBERS = 1000


def _members(organization: Organization, addresses: Iterable[str]) -> list[EmailAccount]:
    """The organization's accounts with these addresses; anything else is named and refused."""
    wanted = []
    for value in addresses:
        address = normalize_address(value)
        if address not in wanted:
            wanted.append(address)
    if len(wanted) > MAX_MEMBERS:
        raise ValidationError(
            {"members": _("A group has at most %(max)d members.") % {"max": MAX_MEMBERS}}
        )
    found = {
        a.address: a
        for a in EmailAccount.objects.filter(
            organization=organization, address__in=wanted, deleting=False
        )
    }
    missing = [a for a in wanted if a not in found]
    if missing:
        raise ValidationError(
            {
                "members": _("%(addresses)s: not an email account of yours.")
                % {"addresses": ", ".join(missing[:5])}
            }
        )
    return [found[a] for a in wanted]


def group_create(
    *, organization: Organization, name: str, address: str, members: Iterable[str] = ()
) -> Group:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the group a name.")})
    address = normalize_address(address)
    local, _at, domain_name = address.partition("@")
    try:
        local = normalize_local_part(local)
    except ValidationError as error:
        raise ValidationError({"address": error.messages}) from None
    domain = Domain.objects.filter(name=domain_name, organization=organization).first()
    if domain is None:
        raise ValidationError(
            {"address": _("%(domain)s is not one of your domains.") % {"domain": domain_name}}
        )
    accounts = _members(organization, members)
    taken = ValidationError({"address": _("%(address)s is already in use.") % {"address": address}})
    with transaction.atomic():
        if address_taken(address):
            raise taken
        try:
            with transaction.atomic():
                group = Group.objects.create(
                    organization=organization,
                    domain=domain,
                    name=name[:150],
                    local_part=local,
                    address=address,
                )
        except IntegrityError:  # the same address, created at the same moment
            raise taken from None
        group.members.set(accounts)
        _refuse_loops(accounts)
        audit(action="group.create", obj=group, fields=["name", "members"])
        enqueue_on_commit(push_group, group.pk)
    return group


def _refuse_loops(accounts: list[EmailAccount]) -> None:
    """A member forwarding without a copy back to its group would send mail round in a
    circle (Postfix defers it for days): refused, naming the chain, nothing saved."""
    for account in accounts:
        try:
            check_forward_loop(
                address=account.address,
                organization_id=account.organization_id,
                forward_to=list(account.forward_to),
                keep_copy=account.forward_keep_copy,
            )
        except ValidationError as error:
            raise ValidationError({"members": error.messages}) from None


def group_rename(*, group: Group, name: str) -> bool:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the group a name.")})
    if name == group.name:
        return False
    group.name = name[:150]
    group.save(update_fields=["name"])
    audit(action="group.update", obj=group, fields=["name"])
    return True


def group_add_members(*, group: Group, addresses: Iterable[str]) -> int:
    """Add accounts of the group's organization; return how many were new."""
    accounts = _members(group.organization, addresses)
    with transaction.atomic():
        held = set(group.members.values_list("pk", flat=True))
        new = [a for a in accounts if a.pk not in held]
        if len(held) + len(new) > MAX_MEMBERS:
            raise ValidationError(
                {"members": _("A group has at most %(max)d members.") % {"max": MAX_MEMBERS}}
            )
        if new:
            group.members.add(*new)
            _refuse_loops(new)
            bump_group(group)
            audit(action="group.update", obj=group, fields=["members"])
    return len(new)


def group_remove_member(*, group: Group, account: EmailAccount) -> None:
    with transaction.atomic():
        group.members.remove(account)
        bump_group(group)
        audit(action="group.update", obj=group, fields=["members"])


def group_delete(*, group: Group) -> None:
    with transaction.atomic():
        address = group.address
        audit(action="group.delete", obj=group)
        group.delete()
        transaction.on_commit(lambda: remove_group.delay(address), robust=True)
