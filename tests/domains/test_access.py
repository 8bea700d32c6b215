"""domains/access.py, the one place that decides which domains a user sees and changes: another
tenant's domain is a 404, a role that may look but not do gets a 403, owners alone manage,
the role is the one held in the domain's own organization."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from domains import services
from domains.access import (
    check_role,
    choose_organization_for,
    domains_for,
    get_domain_for,
    get_invitation_for,
    get_membership_for,
    organizations_for,
    role_flags,
)
from domains.models import Invitation, Membership, Organization, Role

# (role, write, manage) -> allowed?
MATRIX = [
    ("owner", False, False, True),
    ("owner", True, False, True),
    ("owner", False, True, True),
    ("operator", False, False, True),
    ("operator", True, False, True),
    ("operator", False, True, False),
    ("viewer", False, False, True),
    ("viewer", True, False, False),
    ("viewer", False, True, False),
]


@pytest.mark.parametrize(("role", "write", "manage", "allowed"), MATRIX)
def test_check_role(role, write, manage, allowed):
    if allowed:
        check_role(Role(role), write=write, manage=manage)
    else:
        with pytest.raises(PermissionDenied):
            check_role(Role(role), write=write, manage=manage)


def test_check_role_reads_by_default():
    for role in Role:
        check_role(role)
    with pytest.raises(Http404):
        check_role(None)


@pytest.mark.parametrize(("write", "manage"), [(False, False), (True, False), (False, True)])
def test_no_role_is_a_404_whatever_is_asked(write, manage):
    with pytest.raises(Http404):
        check_role(None, write=write, manage=manage)


@pytest.mark.parametrize(("role", "write", "manage", "allowed"), MATRIX)
def test_get_domain_for_each_role(
    request, owner, operator, viewer, domain_a, role, write, manage, allowed
):
    """All three members exist: each gets their own role, not another member's."""
    user = request.getfixturevalue(role)
    if allowed:
        domain = get_domain_for(user, domain_a.pk, write=write, manage=manage)
        assert domain == domain_a and domain.member_role == role
    else:
        with pytest.raises(PermissionDenied):
            get_domain_for(user, domain_a.pk, write=write, manage=manage)


@pytest.mark.parametrize(("write", "manage"), [(False, False), (True, False), (False, True)])
def test_another_tenants_domain_and_a_missing_one_are_404(owner, domain_a, domain_b, write, manage):
    for pk in (domain_b.pk, 10**9):
        with pytest.raises(Http404):
            get_domain_for(owner, pk, write=write, manage=manage)


def test_the_role_is_the_one_in_the_domains_organization(owner, org_b, domain_a, domain_b):
    """Owner of A and viewer of B: may manage A's domain, only look at B's."""
    Membership.objects.create(user=owner, organization=org_b, role=Role.VIEWER)
    assert get_domain_for(owner, domain_a.pk, manage=True).member_role == Role.OWNER
    assert get_domain_for(owner, domain_b.pk).member_role == Role.VIEWER
    with pytest.raises(PermissionDenied):
        get_domain_for(owner, domain_b.pk, write=True)


def test_an_organization_token_is_narrowed_to_its_organization(owner, org_a, org_b, domain_a):
    Membership.objects.create(user=owner, organization=org_b, role=Role.OWNER)
    domain_b = services.domain_create(organization=org_b, name="b.example")
    assert get_domain_for(owner, domain_a.pk, organization_id=org_a.pk) == domain_a
    with pytest.raises(Http404):
        get_domain_for(owner, domain_b.pk, organization_id=org_a.pk)
    assert get_domain_for(owner, domain_b.pk) == domain_b  # without a token: both


def test_the_organization_and_plan_come_with_the_domain(owner, domain_a, django_assert_num_queries):
    domain = get_domain_for(owner, domain_a.pk)
    with django_assert_num_queries(0):
        assert domain.organization.plan.max_domains == 3
    organization = organizations_for(owner).get()
    with django_assert_num_queries(0):
        assert organization.plan.max_accounts == 5


def test_domains_for_lists_the_members_domains_only(owner, viewer, domain_a, domain_b, admin_b):
    assert list(domains_for(owner)) == [domain_a]
    assert list(domains_for(viewer)) == [domain_a]
    assert list(domains_for(admin_b)) == [domain_b]
    assert list(domains_for(AnonymousUser())) == []


def test_organizations_for_writing_leaves_viewers_out(owner, operator, viewer, org_a, org_b):
    assert list(organizations_for(owner, write=True)) == [org_a]
    assert list(organizations_for(operator, write=True)) == [org_a]
    assert list(organizations_for(viewer, write=True)) == []
    assert list(organizations_for(viewer)) == [org_a]
    assert list(organizations_for(AnonymousUser())) == []
    assert list(organizations_for(AnonymousUser(), write=True)) == []


def test_anonymous_gets_a_404(domain_a):
    with pytest.raises(Http404):
        get_domain_for(AnonymousUser(), domain_a.pk)


@pytest.mark.parametrize(
    ("role", "flags"),
    [
        ("owner", {"can_write": True, "can_manage": True}),
        ("operator", {"can_write": True, "can_manage": False}),
        ("viewer", {"can_write": False, "can_manage": False}),
        (None, {"can_write": False, "can_manage": False}),
    ],
)
def test_role_flags(role, flags):
    assert role_flags(Role(role) if role else None) == flags


# --- the organization a page works on, memberships, invitations ------------------------------


@pytest.mark.parametrize(("role", "write", "manage", "allowed"), MATRIX)
def test_choose_organization_for_each_role(
    request, owner, operator, viewer, org_a, role, write, manage, allowed
):
    user = request.getfixturevalue(role)
    if allowed:
        chosen, organizations = choose_organization_for(user, org_a.pk, write=write, manage=manage)
        assert chosen == org_a and chosen.member_role == role
        assert organizations == [org_a]
    else:
        with pytest.raises(PermissionDenied):
            choose_organization_for(user, org_a.pk, write=write, manage=manage)


def test_choose_organization_for_names_one_of_yours_or_takes_the_first(owner, org_a, org_b, plan):
    first = Organization.objects.create(name="Aardvark", plan=plan)  # sorts before "Org A"
    Membership.objects.create(user=owner, organization=first, role=Role.VIEWER)
    chosen, organizations = choose_organization_for(owner, None)
    assert chosen == first and chosen.member_role == Role.VIEWER
    assert organizations == [first, org_a]
    assert organizations[1].member_role == Role.OWNER  # each with its own role
    assert choose_organization_for(owner, str(org_a.pk))[0] == org_a  # ?org= is a string
    assert choose_organization_for(owner, "")[0] == first
    for wanted in (org_b.pk, 10**9, "nonsense"):  # another tenant's, missing, garbage: 404
        with pytest.raises(Http404):
            choose_organization_for(owner, wanted)


def test_choose_organization_for_nobody_is_404(org_a, account_a):
    for user in (AnonymousUser(), account_a.user):  # a mailbox owner is no member anywhere
        with pytest.raises(Http404):
            choose_organization_for(user, org_a.pk)


@pytest.mark.parametrize("manage", [False, True])
@pytest.mark.parametrize("role", ["owner", "operator", "viewer"])
def test_get_membership_for_each_role(request, owner, operator, viewer, role, manage):
    user = request.getfixturevalue(role)
    target = viewer.memberships.get()
    if manage and role != "owner":
        with pytest.raises(PermissionDenied):
            get_membership_for(user, target.pk, manage=True)
    else:
        found = get_membership_for(user, target.pk, manage=manage)
        assert found == target and found.member_role == role


def test_another_tenants_membership_is_404(owner, admin_b, org_a, org_b):
    theirs = admin_b.memberships.get()
    Membership.objects.create(user=admin_b, organization=org_a, role=Role.VIEWER)
    for pk in (theirs.pk, 10**9):
        for manage in (False, True):
            with pytest.raises(Http404):
                get_membership_for(owner, pk, manage=manage)
    with pytest.raises(Http404):
        get_membership_for(AnonymousUser(), owner.memberships.get().pk)


def invitation(org) -> Invitation:
    return Invitation.objects.create(
        organization=org,
        email="newbie@elsewhere.test",
        role=Role.OPERATOR,
        token_hash=f"{org.pk:064d}",
        expires_at=timezone.now() + timedelta(days=7),
    )


def test_an_invitation_is_for_its_organizations_owners_only(
    owner, operator, viewer, admin_b, org_a, org_b
):
    mine, theirs = invitation(org_a), invitation(org_b)
    found = get_invitation_for(owner, mine.pk)
    assert found == mine and found.member_role == Role.OWNER
    for user in (operator, viewer):
        with pytest.raises(PermissionDenied):
            get_invitation_for(user, mine.pk)
    for pk in (theirs.pk, 10**9):
        with pytest.raises(Http404):
            get_invitation_for(owner, pk)
    with pytest.raises(Http404):
        get_invitation_for(AnonymousUser(), mine.pk)
    assert get_invitation_for(admin_b, theirs.pk) == theirs


def test_get_membership_for_reads_by_default(viewer, owner):
    target = owner.memberships.get()
    assert get_membership_for(viewer, target.pk) == target


def test_related_rows_come_with_memberships_invitations_and_organizations(
    owner, org_a, django_assert_num_queries
):
    membership = get_membership_for(owner, owner.memberships.get().pk)
    found = get_invitation_for(owner, invitation(org_a).pk)
    chosen, _all = choose_organization_for(owner, org_a.pk)
    with django_assert_num_queries(0):
        assert membership.user.email == "owner@a.test"
        assert membership.organization.name == "Org A"
        assert found.organization.name == "Org A"
        assert chosen.plan.max_accounts == 5


def test_organizations_of_the_same_name_come_in_creation_order(owner, org_a, plan):
    """The first one is the page's default: the same one every time, whatever the table's
    physical order (an update moves a PostgreSQL row to the end)."""
    twin = Organization.objects.create(name="Org A", plan=plan)
    Membership.objects.create(user=owner, organization=twin, role=Role.VIEWER)
    Organization.objects.filter(pk=org_a.pk).update(name="Org A")  # rewritten after the twin
    chosen, organizations = choose_organization_for(owner, None)
    assert organizations == [org_a, twin] and chosen == org_a


def test_get_domain_for_reads_by_default(viewer, domain_a):
    assert get_domain_for(viewer, domain_a.pk) == domain_a
