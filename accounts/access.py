"""The one place that decides which email accounts and aliases a user may see and change, and
who may change the sign-in credentials of a mailbox whose login also runs an organization."""

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from domains.access import check_role, role_subquery
from domains.models import Membership, Role
from tempusmail.audit import current_actor
from tempusmail.tenancy import forbid, not_found

from .models import Alias, BulkJob, EmailAccount, Group, UserPhoto

# Settings that decide who can sign in as the mailbox's login, and from where: the recovery
# (external) address, API access and the IP restrictions. The password, the second factor
# and the account's lifecycle are guarded by the services that change them.
CREDENTIAL_FIELDS = frozenset({"external_email", "api_access", "allowed_networks"})
NOT_YOURS = _(
    "This mailbox's login is a member of an organization: only that person, an owner of every "
    "organization they belong to, or staff may change its password, recovery address, "
    "two-factor authentication, API access, IP restrictions or status."
)


def accounts_for(user) -> QuerySet[EmailAccount]:
    if not user.is_authenticated:
        return EmailAccount.objects.none()
    return EmailAccount.objects.filter(organization__memberships__user=user)


def get_account_for(
    user, pk, *, write: bool = False, manage: bool = False, organization_id: int | None = None
) -> EmailAccount:
    """`organization_id` narrows to one organization (an organization token's): outside it, 404."""
    account = (
        _with_role(user)
        .filter(pk=pk, **({"organization_id": organization_id} if organization_id else {}))
        .first()
    )
    check_role(account.member_role if account else None, write=write, manage=manage)
    return account


def _with_role(user) -> QuerySet[EmailAccount]:
    return (
        accounts_for(user)
        .select_related("domain", "organization__plan", "user")
        .annotate(member_role=role_subquery(user))
    )


def get_accounts_for(user, pks, *, write: bool = False, manage: bool = False):
    """get_account_for for many accounts in one query (a bulk job's chunk): pk -> a callable
    that returns the account or raises as get_account_for would for that pk alone."""
    found = {
        a.pk: a
        for a in _with_role(user)
        .select_related("domain__organization__plan", "subscription")
        .filter(pk__in=pks)
    }

    def get(pk) -> EmailAccount:
        account = found.get(pk)
        check_role(account.member_role if account else None, write=write, manage=manage)
        return account

    return get


def get_alias_for(user, pk, *, account: EmailAccount) -> Alias:
    """An alias of an account the caller already fetched with write access."""
    alias = Alias.objects.filter(pk=pk, account=account).first()
    if alias is None:
        raise not_found()
    return alias


def may_change_credentials(user, account: EmailAccount) -> bool:
    """The privilege rule (DESIGN.md, "Trust between tenants"). A mailbox whose login is a
    member of any organization is privileged: setting its password or recovery address would
    let an operator sign in as an owner, here or in another tenant. So only the person, an
    owner of EVERY organization that login belongs to, or staff may. For any other mailbox
    this adds nothing to the role check of get_account_for."""
    if user is None or not user.is_authenticated:
        return False
    return account.user_id not in logins_guarded_from(user, [account.user_id])


def logins_guarded_from(user, user_ids) -> set:
    """Of the mailbox logins `user_ids`, those whose credentials `user` may not change
    (may_change_credentials for many, one query)."""
    if user.is_staff:
        return set()
    owned = Membership.objects.filter(user=user, role=Role.OWNER).values("organization_id")
    return set(
        Membership.objects.filter(user_id__in=[pk for pk in user_ids if pk != user.pk])
        .exclude(organization_id__in=owned)
        .values_list("user_id", flat=True)
    )


def check_credentials_change(account: EmailAccount, *, user=None) -> None:
    """403 unless `user` may change the mailbox's credentials. Without `user`: whoever acts in
    this request (panel, portal, API token, Django admin: tempusmail.audit's actor); outside
    any request (management command, worker, shell) the system acts and may."""
    if user is None:
        actor = current_actor()
        if actor is None:
            return
        user = actor.who()
    if not may_change_credentials(user, account):
        raise forbid(NOT_YOURS)


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


def get_job_for(user, pk, *, domain) -> BulkJob:
    """A bulk job or import of a domain the caller already fetched through domains.access."""
    job = BulkJob.objects.filter(pk=pk, domain=domain).first()
    if job is None:
        raise not_found()
    return job
