"""The one place that decides which email accounts and aliases a user may see and change."""

from django.db.models import QuerySet

from domains.access import check_role, role_subquery
from tempusmail.tenancy import not_found

from .models import Alias, EmailAccount


def accounts_for(user) -> QuerySet[EmailAccount]:
    if not user.is_authenticated:
        return EmailAccount.objects.none()
    return EmailAccount.objects.filter(organization__memberships__user=user)


def get_account_for(
    user, pk, *, write: bool = False, manage: bool = False, organization_id: int | None = None
) -> EmailAccount:
    """`organization_id` narrows to one organization (an organization token's): outside it, 404."""
    account = (
        accounts_for(user)
        .select_related("domain", "organization__plan", "user")
        .annotate(member_role=role_subquery(user))
        .filter(pk=pk, **({"organization_id": organization_id} if organization_id else {}))
        .first()
    )
    check_role(account.member_role if account else None, write=write, manage=manage)
    return account


def get_alias_for(user, pk, *, account: EmailAccount) -> Alias:
    """An alias of an account the caller already fetched with write access."""
    alias = Alias.objects.filter(pk=pk, account=account).first()
    if alias is None:
        raise not_found()
    return alias
