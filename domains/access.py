"""The one place that decides which domains a user may see and change."""

from django.db.models import OuterRef, QuerySet, Subquery

from tempusmail.tenancy import forbid, not_found

from .models import Domain, Invitation, Membership, Organization, Role


def role_subquery(user, organization_ref: str = "organization_id") -> Subquery:
    """The user's role in the row's organization, or NULL: one query, no per-row lookups.
    By id: an anonymous user (no id) has no role anywhere."""
    return Subquery(
        Membership.objects.filter(user_id=user.pk, organization=OuterRef(organization_ref)).values(
            "role"
        )[:1]
    )


def check_role(role: str | None, *, write: bool = False, manage: bool = False) -> None:
    """404 for no membership, 403 for a role that may look but not do."""
    if role is None:
        raise not_found()
    if (write or manage) and role == Role.VIEWER:
        raise forbid()
    if manage and role != Role.OWNER:
        raise forbid()


def domains_for(user) -> QuerySet[Domain]:
    if not user.is_authenticated:
        return Domain.objects.none()
    return Domain.objects.filter(organization__memberships__user=user)


def get_domain_for(
    user, pk, *, write: bool = False, manage: bool = False, organization_id: int | None = None
) -> Domain:
    """`organization_id` narrows to one organization (an organization token's): outside it, 404.
    The role subquery is the membership check (no role: 404), so no join with the memberships
    as in domains_for: the query of every domain page is cheaper to build and to run."""
    if not user.is_authenticated:
        raise not_found()
    domain = (
        Domain.objects.select_related("organization__plan")
        .annotate(member_role=role_subquery(user))
        .filter(pk=pk, **({"organization_id": organization_id} if organization_id else {}))
        .first()
    )
    check_role(domain.member_role if domain else None, write=write, manage=manage)
    return domain


def organizations_for(user, *, write: bool = False) -> QuerySet[Organization]:
    if not user.is_authenticated:
        return Organization.objects.none()
    roles = [Role.OWNER, Role.OPERATOR] if write else list(Role)
    return Organization.objects.filter(
        memberships__user=user, memberships__role__in=roles
    ).select_related("plan")


def role_flags(role: str | None) -> dict[str, bool]:
    """What the templates may offer a member of this role."""
    return {"can_write": role in (Role.OWNER, Role.OPERATOR), "can_manage": role == Role.OWNER}


def choose_organization_for(
    user, wanted, *, write: bool = False, manage: bool = False
) -> tuple[Organization, list[Organization]]:
    """The organization a page names (`?org=`), else the user's first, with the user's role
    as `member_role`; and all of the user's organizations (for the switcher)."""
    if not user.is_authenticated:
        raise not_found()
    organizations = list(
        Organization.objects.filter(memberships__user=user)
        .annotate(member_role=role_subquery(user, "pk"))
        .select_related("plan")
        .order_by("name", "pk")
    )
    if not organizations:
        raise not_found()
    wanted = str(wanted or organizations[0].pk)
    chosen = next((o for o in organizations if str(o.pk) == wanted), None)
    check_role(chosen.member_role if chosen else None, write=write, manage=manage)
    return chosen, organizations


def get_membership_for(user, pk, *, manage: bool = False) -> Membership:
    """A membership of one of the user's organizations; changing it is for owners."""
    if not user.is_authenticated:
        raise not_found()
    membership = (
        Membership.objects.select_related("user", "organization")
        .annotate(member_role=role_subquery(user))
        .filter(pk=pk, organization__memberships__user=user)
        .first()
    )
    check_role(membership.member_role if membership else None, manage=manage)
    return membership


def get_invitation_for(user, pk) -> Invitation:
    """An invitation of one of the user's organizations, for its owners to revoke."""
    invitation = (
        Invitation.objects.select_related("organization")
        .annotate(member_role=role_subquery(user))
        .filter(pk=pk)
        .first()
    )
    check_role(invitation.member_role if invitation else None, manage=True)
    return invitation
