"""Members: owners invite admins by email with a one-time link (the person sets a password,
and enrolls 2FA when the organization requires it), change roles and remove members; the last
owner can be neither removed nor demoted. Operators and viewers see the list only."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from domains import members as member_services
from domains.models import Invitation, Membership, Role
from security import services as security_services
from tests.conftest import PASSWORD

from .test_change_subscription import run_together

MEMBERS = reverse("organization:members")
NEW_PASSWORD = "Another-Long-Pass-42"


def invite(client, email="newbie@elsewhere.test", role="operator"):
    return client.post(MEMBERS, {"email": email, "role": role})


def link_from_outbox() -> str:
    return re.search(r"https?://[^/\s]+(/security/invitations/\S+/)", mail.outbox[-1].body)[1]


def sign_up(client, link, password=NEW_PASSWORD):
    return client.post(
        link,
        {"first_name": "Nina", "last_name": "New", "password": password, "password2": password},
    )


def test_owner_invites_and_the_person_joins_with_their_own_password(
    client_for, owner, org_a, client
):
    page = invite(client_for(owner)).content.decode()
    assert "Invitation sent to newbie@elsewhere.test." in page
    assert [m.to for m in mail.outbox] == [["newbie@elsewhere.test"]]
    link = link_from_outbox()
    assert link in page  # shown once to the owner too
    assert Invitation.objects.get().token_hash not in link  # only the hash is stored

    client.logout()
    form = client.get(link).content.decode()
    assert "Join Org A" in form and "as Operator" in form
    response = sign_up(client, link)
    assert response.status_code == 302
    user = User.objects.get(email="newbie@elsewhere.test")
    assert user.check_password(NEW_PASSWORD) and user.first_name == "Nina"
    assert Membership.objects.get(user=user).role == Role.OPERATOR
    assert client.get(reverse("organization:members")).status_code == 200  # signed in

    client.logout()
    assert client.get(link).status_code == 404  # the link works once


def test_the_password_policy_applies(client, owner, client_for):
    invite(client_for(owner))
    link = link_from_outbox()
    client.logout()
    response = sign_up(client, link, password="password")
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert not User.objects.filter(email="newbie@elsewhere.test").exists()
    assert Invitation.objects.get().accepted_at is None


def test_two_factor_setup_follows_when_the_organization_requires_it(
    client_for, owner, org_a, client
):
    owner_client = client_for(owner)
    owner_client.post(
        reverse("organization:members_2fa") + f"?org={org_a.pk}", {"members_require_2fa": "on"}
    )
    org_a.refresh_from_db()
    assert org_a.members_require_2fa
    invite(owner_client)
    link = link_from_outbox()
    client.logout()
    response = sign_up(client, link)
    assert response["Location"] == reverse("security:setup")
    # nothing else opens until 2FA is set up
    assert client.get(reverse("organization:members"))["Location"] == reverse("security:setup")


def test_an_existing_login_signs_in_then_accepts(client_for, owner, admin_b, client):
    invite(client_for(owner), email="admin@b.test", role="viewer")
    link = link_from_outbox()
    client.logout()
    page = client.get(link).content.decode()
    assert "already has a login: sign in with it to accept" in page
    assert client.post(link, {"password": "x", "password2": "x"}).status_code == 200
    assert not Membership.objects.filter(user=admin_b, organization__name="Org A").exists()
    client.force_login(admin_b)
    assert client.post(link).status_code == 302
    assert Membership.objects.get(user=admin_b, organization__name="Org A").role == Role.VIEWER


def test_expired_revoked_and_unknown_links_are_not_found(client_for, owner, org_a):
    owner_client, visitor = client_for(owner), Client()
    invite(owner_client)
    link = link_from_outbox()
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert visitor.get(link).status_code == 404
    invite(owner_client, email="other@elsewhere.test")
    second = link_from_outbox()
    invitation = Invitation.objects.get(email="other@elsewhere.test")
    owner_client.post(reverse("organization:invitation_revoke", args=[invitation.pk]))
    assert visitor.get(second).status_code == 404
    assert visitor.get("/security/invitations/not-a-token/").status_code == 404


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_see_the_list_only(client_for, request, role, owner, org_a):
    client = client_for(request.getfixturevalue(role))
    page = client.get(MEMBERS).content.decode()
    assert "owner@a.test" in page and "Send invitation" not in page
    assert invite(client).status_code == 403
    membership = owner.memberships.get()
    assert (
        client.post(reverse("organization:member_role", args=[membership.pk]), {"role": "viewer"})
    ).status_code == 403
    assert (
        client.post(reverse("organization:member_remove", args=[membership.pk])).status_code == 403
    )
    assert not Invitation.objects.exists()
    assert Membership.objects.get(pk=membership.pk).role == Role.OWNER


def test_another_organization_is_not_found(client_for, admin_b, owner, org_a):
    client = client_for(admin_b)
    assert client.get(MEMBERS, {"org": org_a.pk}).status_code == 404
    membership = owner.memberships.get()
    for name in ("organization:member_role", "organization:member_remove"):
        assert (
            client.post(reverse(name, args=[membership.pk]), {"role": "viewer"}).status_code == 404
        )


def test_owner_changes_roles_and_removes_members(client_for, owner, operator, viewer):
    client = client_for(owner)
    op = operator.memberships.get()
    response = client.post(
        reverse("organization:member_role", args=[op.pk]), {"role": "owner"}, follow=True
    )
    assert "operator@a.test is now Owner / admin." in response.content.decode()
    view = viewer.memberships.get()
    client.post(reverse("organization:member_remove", args=[view.pk]))
    assert not Membership.objects.filter(pk=view.pk).exists()
    assert User.objects.filter(pk=viewer.pk).exists()  # the login stays


def test_a_removed_member_loses_its_tokens_for_good(client_for, client, owner, viewer, org_a):
    _token, key = security_services.token_create(user=viewer, name="ci", organization=org_a)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/api/v1/domains/", **auth).status_code == 200
    client_for(owner).post(
        reverse("organization:member_remove", args=[viewer.memberships.get().pk])
    )
    assert client.get("/api/v1/domains/", **auth).status_code == 401
    # Invited back later: the old key stays dead.
    Membership.objects.create(user=viewer, organization=org_a, role=Role.VIEWER)
    assert client.get("/api/v1/domains/", **auth).status_code == 401


def test_the_last_owner_can_be_neither_demoted_nor_removed(client_for, owner, operator):
    client = client_for(owner)
    mine = owner.memberships.get()
    response = client.post(
        reverse("organization:member_role", args=[mine.pk]), {"role": "viewer"}, follow=True
    )
    assert "owner@a.test is the last owner: make someone else an owner first." in (
        response.content.decode()
    )
    response = client.post(reverse("organization:member_remove", args=[mine.pk]), follow=True)
    assert "owner@a.test is the last owner and cannot be removed." in response.content.decode()
    assert Membership.objects.get(pk=mine.pk).role == Role.OWNER


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner(org_a, owner, operator):
    member_services.member_set_role(membership=operator.memberships.get(), role=Role.OWNER)
    first, second = owner.memberships.get(), operator.memberships.get()
    run_together(
        lambda: member_services.member_set_role(membership=first, role=Role.VIEWER),
        lambda: member_services.member_set_role(membership=second, role=Role.VIEWER),
    )
    assert Membership.objects.filter(organization=org_a, role=Role.OWNER).count() == 1


def test_inviting_a_member_again_is_refused(client_for, owner, operator):
    response = invite(client_for(owner), email="operator@a.test")
    assert "operator@a.test is already a member." in response.content.decode()
    assert not Invitation.objects.exists()


def test_members_password_is_the_one_they_chose(client, client_for, owner):
    """The sign-in form accepts the new login afterwards, as a person would use it."""
    invite(client_for(owner))
    link = link_from_outbox()
    client.logout()
    sign_up(client, link)
    client.logout()
    response = client.post(
        reverse("login"), {"username": "newbie@elsewhere.test", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert PASSWORD != NEW_PASSWORD
