"""The one place that decides which domains a user may see and change."""

from django.db.models import OuterRef, QuerySet, Subquery

from tempusmail.tenancy import forbid, not_found

from .models import Domain, Membership, Organization, Role


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
    """`organization_id` narrows to one organization (an organization token's): outside it, 404."""
    domain = (
        domains_for(user)
        .select_related("organization__plan")
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
