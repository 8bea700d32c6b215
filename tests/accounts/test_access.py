"""accounts/access.py: which email accounts and aliases a user reaches, with the role held in
the account's own organization; another tenant's is a 404, a viewer's write a 403."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts import services
from accounts.access import accounts_for, get_account_for, get_alias_for
from domains.models import Membership, Role
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
