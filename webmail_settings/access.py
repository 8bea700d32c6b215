"""The one place that decides whose data the portal shows: only the signed-in user's own;
and which organization's email service catalog an admin sees (members read, owners change)."""

from accounts.models import EmailAccount
from domains.access import check_role, organizations_for, role_subquery
from domains.models import Organization
from tempusmail.tenancy import not_found

from .models import EmailService, ExternalMailbox, Signature


def get_mailbox_for(user) -> EmailAccount:
    """The signed-in user's mailbox; a user without one (an admin) gets a 404."""
    if not user.is_authenticated:
        raise not_found()
    account = (
        EmailAccount.objects.select_related("domain__organization__plan", "user")
        .filter(user=user, deleting=False)
        .first()
    )
    if account is None:
        raise not_found()
    return account


def get_mailbox_for_service(address: str, service: str) -> EmailAccount:
    """The mailbox a mail-side service (already holding the provider's key) asks about: only
    an active one with that service on; anything else is a 404."""
    account = (
        EmailAccount.objects.select_related("domain", "user")
        .filter(address=address.strip().lower(), is_active=True, deleting=False)
        .first()
    )
    if account is None or service not in account.services:
        raise not_found()
    return account


def get_signature_for(account: EmailAccount, pk) -> Signature:
    """One of the account's own signatures; anybody else's is a 404."""
    signature = Signature.objects.filter(account=account, pk=pk).first()
    if signature is None:
        raise not_found()
    return signature


def get_external_mailbox_for(account: EmailAccount, pk) -> ExternalMailbox:
    """One of the account's own connections; anybody else's is a 404."""
    connection = (
        ExternalMailbox.objects.select_related("service", "account")
        .filter(account=account, pk=pk)
        .first()
    )
    if connection is None:
        raise not_found()
    return connection


def get_catalog_organization_for(
    user, wanted, *, write: bool = False
) -> tuple[Organization, list[Organization]]:
    """The organization whose catalog a page shows (`wanted`, or the first), and all of the
    user's. Not a member: 404; changing it takes an owner (403 otherwise)."""
    if not user.is_authenticated:
        raise not_found()
    organizations = list(organizations_for(user).annotate(member_role=role_subquery(user, "pk")))
    wanted = str(wanted or (organizations[0].pk if organizations else ""))
    chosen = next((o for o in organizations if str(o.pk) == wanted), None)
    check_role(chosen.member_role if chosen else None, manage=write)
    return chosen, organizations


def get_email_service_for(user, pk, *, write: bool = False) -> EmailService:
    """A service of a catalog the user belongs to; another organization's is a 404."""
    if not user.is_authenticated:
        raise not_found()
    service = (
        EmailService.objects.filter(pk=pk, organization__memberships__user=user)
        .select_related("organization")
        .annotate(member_role=role_subquery(user))
        .first()
    )
    check_role(service.member_role if service else None, manage=write)
    return service
