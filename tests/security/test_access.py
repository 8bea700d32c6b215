"""security/access.py called directly: which API tokens and which organization the security
pages show and let a person revoke. Your own tokens; an owner also sees and revokes the
organization's; anything else, another tenant's above all, is a 404."""

import itertools

import pytest
from django.http import Http404

from domains.models import Membership, Organization, Role
from security.access import (
    get_organization_for,
    get_token_for,
    is_owner,
    organization_tokens_for,
    personal_tokens_for,
)
from security.models import ApiToken

numbers = itertools.count()


def token(user, organization=None) -> ApiToken:
    n = next(numbers)
    return ApiToken.objects.create(
        kind=ApiToken.Kind.ORGANIZATION if organization else ApiToken.Kind.PERSONAL,
        user=user,
        organization=organization,
        name=f"token {n}",
        prefix=f"p{n:06d}",
        key_hash="x" * 64,
    )


def test_only_an_owner_is_the_owner(org_a, org_b, owner, operator, viewer, admin_b):
    assert is_owner(owner, org_a.pk)
    assert not is_owner(operator, org_a.pk)
    assert not is_owner(viewer, org_a.pk)
    assert not is_owner(admin_b, org_a.pk)  # an owner, of another organization
    assert not is_owner(owner, org_b.pk)
    assert not is_owner(owner, 0)


def test_personal_tokens_are_the_persons_own_and_not_organization_tokens(org_a, owner, operator):
    mine = token(owner)
    token(owner, org_a)
    token(operator)
    assert list(personal_tokens_for(owner)) == [mine]


def test_an_owner_sees_every_token_of_the_organization_others_their_own(
    org_a, org_b, owner, operator, viewer, admin_b
):
    by_owner, by_operator, by_viewer = (token(u, org_a) for u in (owner, operator, viewer))
    token(admin_b, org_b)
    token(operator)  # personal: never on the organization's page
    assert set(organization_tokens_for(owner, org_a)) == {by_owner, by_operator, by_viewer}
    assert list(organization_tokens_for(operator, org_a)) == [by_operator]
    assert list(organization_tokens_for(viewer, org_a)) == [by_viewer]


def test_revoking_your_own_token_or_as_owner_the_organizations(org_a, owner, operator, viewer):
    personal, by_operator, by_owner = token(viewer), token(operator, org_a), token(owner, org_a)
    assert get_token_for(viewer, personal.pk) == personal
    assert get_token_for(operator, by_operator.pk) == by_operator
    assert get_token_for(owner, by_operator.pk) == by_operator
    for user, pk in [
        (owner, personal.pk),  # an owner does not reach a member's personal token
        (operator, by_owner.pk),
        (viewer, by_operator.pk),
        (owner, 10**9),  # exists nowhere: the same answer
    ]:
        with pytest.raises(Http404):
            get_token_for(user, pk)


def test_another_organizations_owner_gets_a_404_for_its_tokens(org_a, owner, admin_b):
    by_owner = token(owner, org_a)
    with pytest.raises(Http404):
        get_token_for(admin_b, by_owner.pk)
    assert list(organization_tokens_for(admin_b, org_a)) == []


def test_the_organization_asked_for_or_the_first_by_name(plan, org_a, org_b, owner, viewer):
    Membership.objects.create(user=owner, organization=org_b, role=Role.VIEWER)
    first = Organization.objects.create(name="Aardvark", plan=plan)
    Membership.objects.create(user=owner, organization=first, role=Role.OPERATOR)
    chosen, all_of_them = get_organization_for(owner, None)
    assert chosen == first and all_of_them == [first, org_a, org_b]
    assert get_organization_for(owner, str(org_b.pk))[0] == org_b
    assert get_organization_for(owner, org_b.pk)[0] == org_b
    # To change something, only the organizations where the person is owner or operator.
    chosen, all_of_them = get_organization_for(owner, org_a.pk, write=True)
    assert chosen == org_a and all_of_them == [first, org_a]
    with pytest.raises(Http404):
        get_organization_for(owner, org_b.pk, write=True)
    with pytest.raises(Http404):
        get_organization_for(viewer, None, write=True)


def test_an_organization_the_person_is_not_in_is_a_404(
    org_a, org_b, owner, admin_b, django_user_model
):
    with pytest.raises(Http404):
        get_organization_for(owner, org_b.pk)
    with pytest.raises(Http404):
        get_organization_for(owner, 10**9)
    loner = django_user_model.objects.create_user("loner@a.test", "x")
    with pytest.raises(Http404):
        get_organization_for(loner, None)
