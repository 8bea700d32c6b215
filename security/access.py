"""The one place that decides which tokens and which organization a security page shows:
your own tokens; an owner also sees and revokes the organization's; anybody else's is a 404."""

from django.db.models import QuerySet

from domains.access import organizations_for, role_subquery
from domains.models import Organization, Role
from tempusmail.tenancy import not_found

from .models import ApiToken


def is_owner(user, organization_id) -> bool:
    org = (
        organizations_for(user)
        .annotate(member_role=role_subquery(user, "pk"))
        .filter(pk=organization_id)
        .first()
    )
    return org is not None and org.member_role == Role.OWNER


def get_organization_for(user, wanted, *, write: bool = False):
    """The organization a page asks for (`wanted`, or the first one), and all of the user's."""
    organizations = list(organizations_for(user, write=write))
    if not organizations:
        raise not_found()
    wanted = str(wanted or organizations[0].pk)
    chosen = next((o for o in organizations if str(o.pk) == wanted), None)
    if chosen is None:
        raise not_found()
    return chosen, organizations


def personal_tokens_for(user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, organization__isnull=True)


def organization_tokens_for(user, organization: Organization) -> QuerySet[ApiToken]:
    """Owners see everyone's tokens of the organization; others only their own."""
    tokens = ApiToken.objects.filter(organization=organization)
    return tokens if is_owner(user, organization.pk) else tokens.filter(user=user)


def get_token_for(user, pk) -> ApiToken:
    """A token the user may revoke: their own, or (owners) any of their organization's."""
    token = ApiToken.objects.filter(pk=pk).first()
    if token is None:
        raise not_found()
    if token.user_id != user.pk and not (
        token.organization_id and is_owner(user, token.organization_id)
    ):
        raise not_found()
    return token
