"""accounts/access.py: which email accounts and aliases a user reaches, with the role held in
the account's own organization; another tenant's is a 404, a viewer's write a 403."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts import services
from accounts.access import (
    NOT_YOURS,
    accounts_for,
    check_credentials_change,
    get_account_for,
    get_alias_for,
    get_group_for,
    get_photo_for,
    groups_for,
    may_change_credentials,
)
from accounts.models import EmailAccount, Group, User, UserPhoto
from domains.models import Membership, Role
from tempusmail.audit import Actor, reset_actor, set_actor
from tests.domains.test_access import MATRIX


@pytest.mark.parametrize(("role", "write", "manage", "allowed"), MATRIX)
def test_get_account_for_each_role(
    request, owner, operator, viewer, account_a, role, write, manage, allowed
):
    user = request.getfixturevalue(role)
    if allowed:
        account = get_account_for(user, account_a.pk, write=write, manage=manage)
        assert account == account_a and account.member_role == role
    else:
        with pytest.raises(PermissionDenied):
            get_account_for(user, account_a.pk, write=write, manage=manage)


@pytest.mark.parametrize(("write", "manage"), [(False, False), (True, False), (False, True)])
def test_another_tenants_account_and_a_missing_one_are_404(owner, account_b, write, manage):
    for pk in (account_b.pk, 10**9):
        with pytest.raises(Http404):
            get_account_for(owner, pk, write=write, manage=manage)


def test_the_role_is_the_one_in_the_accounts_organization(owner, org_b, account_a, account_b):
    Membership.objects.create(user=owner, organization=org_b, role=Role.VIEWER)
    assert get_account_for(owner, account_a.pk, manage=True).member_role == Role.OWNER
    assert get_account_for(owner, account_b.pk).member_role == Role.VIEWER
    with pytest.raises(PermissionDenied):
        get_account_for(owner, account_b.pk, write=True)


def test_an_organization_token_is_narrowed_to_its_organization(
    owner, org_a, org_b, account_a, account_b
):
    Membership.objects.create(user=owner, organization=org_b, role=Role.OWNER)
    assert get_account_for(owner, account_a.pk, organization_id=org_a.pk) == account_a
    with pytest.raises(Http404):
        get_account_for(owner, account_b.pk, organization_id=org_a.pk)
    assert get_account_for(owner, account_b.pk) == account_b


def test_domain_organization_plan_and_user_come_with_the_account(
    owner, account_a, django_assert_num_queries
):
    account = get_account_for(owner, account_a.pk)
    with django_assert_num_queries(0):
        assert account.domain.name == "a.example"
        assert account.organization.plan.max_accounts == 5
        assert account.user.email == "alice@a.example"


def test_accounts_for(owner, viewer, admin_b, account_a, account_b):
    assert list(accounts_for(owner)) == [account_a]
    assert list(accounts_for(viewer)) == [account_a]
    assert list(accounts_for(admin_b)) == [account_b]
    assert list(accounts_for(AnonymousUser())) == []
    assert list(accounts_for(account_a.user)) == []  # a mailbox owner is no member


def test_anonymous_and_mailbox_owners_get_a_404(account_a):
    for user in (AnonymousUser(), account_a.user):
        with pytest.raises(Http404):
            get_account_for(user, account_a.pk)


def test_an_alias_only_through_its_own_account(owner, account_a, domain_a, make_account):
    other = make_account(domain_a, "other")
    mine = services.alias_add(account=account_a, address="mine@a.example")
    theirs = services.alias_add(account=other, address="theirs@a.example")
    assert get_alias_for(owner, mine.pk, account=account_a) == mine
    for pk in (theirs.pk, 10**9):
        with pytest.raises(Http404):
            get_alias_for(owner, pk, account=account_a)


# --- the privilege rule: who may change a mailbox's credentials ------------------------------


@pytest.fixture
def member_login(account_a, org_a, org_b):
    """account_a's login is also an operator of org A and a viewer of org B: a privileged
    mailbox (setting its password would let someone sign in as a member of both)."""
    Membership.objects.create(user=account_a.user, organization=org_a, role=Role.OPERATOR)
    Membership.objects.create(user=account_a.user, organization=org_b, role=Role.VIEWER)
    return account_a


def test_a_mailbox_whose_login_is_no_member_is_changed_by_any_role(owner, operator, account_a):
    for user in (owner, operator):
        assert may_change_credentials(user, account_a)
        check_credentials_change(account_a, user=user)


def test_a_privileged_mailbox_needs_an_owner_of_every_organization_of_its_login(
    owner, operator, admin_b, org_b, member_login
):
    assert not may_change_credentials(operator, member_login)
    assert not may_change_credentials(owner, member_login)  # owns A, not B
    assert not may_change_credentials(admin_b, member_login)  # owns B, not A
    Membership.objects.create(user=owner, organization=org_b, role=Role.VIEWER)
    assert not may_change_credentials(owner, member_login)  # a viewer of B is not its owner
    owner.memberships.filter(role=Role.VIEWER).update(role=Role.OWNER)
    assert may_change_credentials(owner, member_login)  # owns both now
    with pytest.raises(PermissionDenied) as refused:
        check_credentials_change(member_login, user=operator)
    assert str(refused.value) == str(NOT_YOURS)


def test_the_person_and_staff_may_change_a_privileged_mailbox(member_login):
    staff = User.objects.create_user("staff@provider.test", "x", is_staff=True)
    assert may_change_credentials(member_login.user, member_login)
    assert may_change_credentials(staff, member_login)


def test_nobody_signed_in_may_not(member_login, account_a):
    for account in (member_login, account_a):
        assert not may_change_credentials(None, account)
        assert not may_change_credentials(AnonymousUser(), account)


def test_without_a_user_the_requests_actor_decides(operator, owner, member_login):
    """No request (management command, worker): the system acts and may. In a request, its
    signed-in person is asked; an anonymous one may not."""
    check_credentials_change(member_login)  # no actor: the system
    token = set_actor(Actor(user=operator))
    try:
        with pytest.raises(PermissionDenied):
            check_credentials_change(member_login)
        check_credentials_change(member_login, user=member_login.user)  # named user wins
    finally:
        reset_actor(token)
    token = set_actor(Actor(user=AnonymousUser()))
    try:
        with pytest.raises(PermissionDenied):
            check_credentials_change(member_login)
    finally:
        reset_actor(token)
    token = set_actor(Actor(user=member_login.user))
    try:
        check_credentials_change(member_login)
    finally:
        reset_actor(token)


# --- groups and photos -----------------------------------------------------------------------


def make_group(org, domain, local: str) -> Group:
    return Group.objects.create(
        organization=org,
        domain=domain,
        name=local.title(),
        local_part=local,
        address=f"{local}@{domain.name}",
    )


@pytest.mark.parametrize(
    ("role", "manage", "allowed"), [(r, m, a) for r, w, m, a in MATRIX if not w]
)
def test_get_group_for_each_role(
    request, owner, operator, viewer, org_a, domain_a, role, manage, allowed
):
    group = make_group(org_a, domain_a, "sales")
    user = request.getfixturevalue(role)
    if allowed:
        found = get_group_for(user, group.pk, manage=manage)
        assert found == group and found.member_role == role
    else:
        with pytest.raises(PermissionDenied):
            get_group_for(user, group.pk, manage=manage)


def test_another_tenants_group_is_404_and_groups_for_lists_only_yours(
    owner, admin_b, org_a, org_b, domain_a, domain_b
):
    mine, theirs = make_group(org_a, domain_a, "sales"), make_group(org_b, domain_b, "team")
    for pk in (theirs.pk, 10**9):
        for manage in (False, True):
            with pytest.raises(Http404):
                get_group_for(owner, pk, manage=manage)
    assert list(groups_for(owner)) == [mine]
    assert list(groups_for(admin_b)) == [theirs]
    assert list(groups_for(AnonymousUser())) == []
    with pytest.raises(Http404):
        get_group_for(AnonymousUser(), mine.pk)


@pytest.fixture
def photo_of(account_a):
    return UserPhoto.objects.create(user=account_a.user, data=b"\x89PNG")


def test_a_photo_for_members_and_colleagues_only(
    photo_of, owner, viewer, admin_b, account_a, account_b, domain_a, make_account
):
    colleague = make_account(domain_a, "colleague")
    assert get_photo_for(owner, account_a.pk) == photo_of
    assert get_photo_for(viewer, account_a.pk) == photo_of
    assert get_photo_for(account_a.user, account_a.pk) == photo_of  # oneself
    assert get_photo_for(colleague.user, account_a.pk) == photo_of  # listed in the book
    for user in (admin_b, account_b.user, AnonymousUser()):
        with pytest.raises(Http404):
            get_photo_for(user, account_a.pk)


@pytest.mark.parametrize("change", [{"in_address_book": False}, {"is_active": False}])
def test_a_hidden_or_inactive_colleague_shows_no_photo(
    photo_of, owner, account_a, domain_a, make_account, change
):
    colleague = make_account(domain_a, "colleague")
    EmailAccount.objects.filter(pk=account_a.pk).update(**change)
    with pytest.raises(Http404):
        get_photo_for(colleague.user, account_a.pk)
    assert get_photo_for(account_a.user, account_a.pk) == photo_of  # still one's own
    assert get_photo_for(owner, account_a.pk) == photo_of  # and the organization's


def test_no_photo_or_a_mailbox_being_deleted_is_404(
    photo_of, owner, account_a, domain_a, make_account
):
    without = make_account(domain_a, "nophoto")
    with pytest.raises(Http404):
        get_photo_for(owner, without.pk)
    EmailAccount.objects.filter(pk=account_a.pk).update(deleting=True)
    with pytest.raises(Http404):
        get_photo_for(owner, account_a.pk)
    with pytest.raises(Http404):
        get_photo_for(owner, 10**9)


def test_get_group_for_reads_by_default(viewer, org_a, domain_a):
    group = make_group(org_a, domain_a, "sales")
    assert get_group_for(viewer, group.pk) == group


def test_a_groups_domain_and_organization_come_with_it(
    owner, org_a, domain_a, django_assert_num_queries
):
    group = get_group_for(owner, make_group(org_a, domain_a, "sales").pk)
    with django_assert_num_queries(0):
        assert group.domain.name == "a.example" and group.organization.name == "Org A"


def test_a_photo_costs_four_queries(photo_of, domain_a, make_account, django_assert_num_queries):
    """The account (only the columns the rule reads), the membership, the caller's mailbox,
    the photo: a column left out of the first query would cost one more."""
    colleague = make_account(domain_a, "colleague")
    user = User.objects.get(pk=colleague.user_id)
    with django_assert_num_queries(4):
        assert get_photo_for(user, photo_of.user.mailbox.pk) == photo_of


def test_get_account_for_reads_by_default(viewer, account_a):
    assert get_account_for(viewer, account_a.pk) == account_a
