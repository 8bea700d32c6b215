"""The one place that decides which email accounts and aliases a user may see and change."""

from django.db.models import QuerySet

from domains.access import check_role, role_subquery
from domains.models import Membership
from tempusmail.tenancy import not_found

from .models import Alias, EmailAccount, Group, UserPhoto


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


def groups_for(user) -> QuerySet[Group]:
    if not user.is_authenticated:
        return Group.objects.none()
    return Group.objects.filter(organization__memberships__user=user)


def get_group_for(user, pk, *, manage: bool = False) -> Group:
    """A group of one of the user's organizations; changing it is for owners."""
    group = (
        groups_for(user)
        .select_related("domain", "organization")
        .annotate(member_role=role_subquery(user))
        .filter(pk=pk)
        .first()
    )
    check_role(group.member_role if group else None, manage=manage)
    return group


def get_photo_for(user, pk) -> UserPhoto:
    """The photo of account `pk`, for people of the same organization only: its members, and
    mailbox owners there (who see colleagues listed in the address book, and themselves)."""
    if not user.is_authenticated:
        raise not_found()
    account = (
        EmailAccount.objects.filter(pk=pk, deleting=False)
        .only("pk", "organization_id", "user_id", "in_address_book", "is_active")
        .first()
    )
    if account is None:
        raise not_found()
    member = Membership.objects.filter(user=user, organization_id=account.organization_id)
    own = getattr(user, "mailbox", None)
    colleague = (
        own is not None
        and own.organization_id == account.organization_id
        and (own.pk == account.pk or (account.in_address_book and account.is_active))
    )
    if not (member.exists() or colleague):
        raise not_found()
    photo = UserPhoto.objects.filter(user_id=account.user_id).first()
    if photo is None:
        raise not_found()
    return photo
