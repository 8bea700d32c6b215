"""Groups: owners create them (name, an address on one of their domains, members among their
accounts) and change their members; everybody in the organization sees them. The address is
unique against accounts and aliases; the mail system receives the active members only; the
company address book lists groups (page and vCard)."""

import pytest
from django.urls import reverse

from accounts import groups as group_services
from accounts import services as account_services
from accounts import sync
from accounts.models import Group
from domains import services as domain_services
from tempusmail.provisioning import mark_applied
from tests.conftest import make_domain

GROUPS = reverse("accounts:groups")


@pytest.fixture
def people(domain_a, make_account):
    return {name: make_account(domain_a, name) for name in ("anna", "beppe", "carla")}


@pytest.fixture
def team(org_a, people):
    return group_services.group_create(
        organization=org_a,
        name="Sales team",
        address="sales@a.example",
        members=["anna@a.example", "beppe@a.example"],
    )


def create(client, **data):
    values = {"name": "Sales team", "address": "sales@a.example", "members": "", **data}
    return client.post(GROUPS, values)


def test_owner_creates_a_group_with_members(client_for, owner, org_a, people, memory_backend):
    response = create(client_for(owner), members="anna@a.example\nBeppe@A.example")
    group = Group.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/groups/{group.pk}/"
    assert group.organization == org_a and group.domain.name == "a.example"
    assert sorted(group.members.values_list("address", flat=True)) == [
        "anna@a.example",
        "beppe@a.example",
    ]
    sync.group_push(group_id=group.pk)
    assert memory_backend.groups["sales@a.example"].members == (
        "anna@a.example",
        "beppe@a.example",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"address": "sales@b.example"}, "b.example is not one of your domains."),
        ({"address": "anna@a.example"}, "anna@a.example is already in use."),
        ({"address": "abuse@a.example"}, "abuse@ is reserved"),
        ({"address": "not an address"}, "is not a valid email address"),
        ({"members": "bob@b.example"}, "bob@b.example: not an email account of yours."),
        ({"name": "   "}, "This field is required."),
    ],
)
def test_bad_groups_are_refused_and_nothing_is_saved(
    client_for, owner, people, domain_b, account_b, data, message
):
    response = create(client_for(owner), **data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Group.objects.exists()


def test_the_group_address_is_unique_against_accounts_and_aliases(
    client_for, owner, team, people, make_account, domain_a
):
    account_services.alias_add(account=people["carla"], address="info@a.example")
    assert (
        "info@a.example is already in use."
        in create(client_for(owner), address="info@a.example").content.decode()
    )
    with pytest.raises(Exception, match="already in use"):
        make_account(domain_a, "sales")
    with pytest.raises(Exception, match="already in use"):
        account_services.alias_add(account=people["carla"], address="sales@a.example")


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_see_groups_but_change_nothing(client_for, request, role, team):
    client = client_for(request.getfixturevalue(role))
    listing = client.get(GROUPS).content.decode()
    assert "Sales team" in listing and "sales@a.example" in listing
    assert "Create group" not in listing
    detail = client.get(reverse("accounts:group", args=[team.pk])).content.decode()
    assert "anna@a.example" in detail and "Add member" not in detail
    assert create(client, address="other@a.example").status_code == 403
    for url, data in (
        (reverse("accounts:group", args=[team.pk]), {"name": "Renamed"}),
        (reverse("accounts:group_member_add", args=[team.pk]), {"address": "carla@a.example"}),
        (reverse("accounts:group_delete", args=[team.pk]), {}),
    ):
        assert client.post(url, data).status_code == 403
    team.refresh_from_db()
    assert team.name == "Sales team" and team.members.count() == 2


def test_another_organization_sees_nothing(client_for, admin_b, team, org_a):
    client = client_for(admin_b)
    assert client.get(reverse("accounts:group", args=[team.pk])).status_code == 404
    assert client.get(GROUPS, {"org": org_a.pk}).status_code == 404
    assert "sales@a.example" not in client.get(GROUPS).content.decode()


def test_owner_adds_and_removes_members(client_for, owner, team, people, account_b):
    client = client_for(owner)
    add = reverse("accounts:group_member_add", args=[team.pk])
    assert client.post(add, {"address": "carla@a.example"}).status_code == 302
    refused = client.post(add, {"address": "bob@b.example"})
    assert "bob@b.example: not an email account of yours." in refused.content.decode()
    remove = reverse("accounts:group_member_remove", args=[team.pk, people["anna"].pk])
    assert client.post(remove).status_code == 302
    assert sorted(team.members.values_list("address", flat=True)) == [
        "beppe@a.example",
        "carla@a.example",
    ]
    team.refresh_from_db()
    assert team.desired_version == 3  # each change is pushed
    # another organization's account is not a member to remove: 404
    other = reverse("accounts:group_member_remove", args=[team.pk, account_b.pk])
    assert client.post(other).status_code == 404


def test_a_deactivated_member_is_left_out_and_back_when_reactivated(team, people, memory_backend):
    mark_applied(Group, pk=team.pk, version=team.desired_version)
    account_services.account_deactivate(account=people["beppe"])
    team.refresh_from_db()
    assert not team.is_applied  # the deactivation re-pushes the group
    sync.group_push(group_id=team.pk)
    assert memory_backend.groups["sales@a.example"].members == ("anna@a.example",)
    account_services.account_reactivate(account=people["beppe"])
    sync.group_push(group_id=team.pk)
    assert memory_backend.groups["sales@a.example"].members == (
        "anna@a.example",
        "beppe@a.example",
    )


def test_a_group_on_a_pending_domain_goes_live_with_its_verification(org_a, people, memory_backend):
    pending = make_domain(org_a, "pending.example", verified=False)
    group = group_services.group_create(
        organization=org_a,
        name="Early",
        address="early@pending.example",
        members=["anna@a.example"],
    )
    sync.group_push(group_id=group.pk)
    assert "early@pending.example" not in memory_backend.groups  # not a domain of ours yet
    version = Group.objects.get(pk=group.pk).desired_version
    domain_services.domain_mark_verified(domain=pending, by_staff=True)
    group.refresh_from_db()
    assert group.desired_version > version and not group.is_applied
    sync.group_push(group_id=group.pk)
    assert memory_backend.groups["early@pending.example"].members == ("anna@a.example",)


def test_deleting_a_group_removes_it_from_the_mail_system(
    client_for, owner, team, memory_backend, django_capture_on_commit_callbacks
):
    sync.group_push(group_id=team.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(owner).post(reverse("accounts:group_delete", args=[team.pk]))
    assert response.status_code == 302
    assert not Group.objects.exists()
    assert callbacks  # the removal is enqueued after commit
    sync.group_remove(address="sales@a.example")
    assert "sales@a.example" not in memory_backend.groups


def test_a_domain_with_groups_cannot_be_deleted(client_for, owner, domain_a, org_a):
    group_services.group_create(organization=org_a, name="Empty", address="empty@a.example")
    response = client_for(owner).post(reverse("domains:delete", args=[domain_a.pk]), follow=True)
    assert "A domain with groups cannot be deleted" in response.content.decode()


def test_the_address_book_lists_groups_with_their_active_members(client, team, people):
    account_services.account_deactivate(account=people["beppe"])
    client.force_login(people["anna"].user)
    page = client.get(reverse("portal:address_book")).content.decode()
    assert "Sales team" in page and "mailto:sales@a.example" in page
    vcf = client.get(reverse("portal:address_book_vcf")).content.decode()
    card = vcf[vcf.index("KIND:group") :]
    card = card[: card.index("END:VCARD")]
    assert "FN:Sales team" in card and "EMAIL;TYPE=work:sales@a.example" in card
    assert "MEMBER:mailto:anna@a.example" in card
    assert "beppe@a.example" not in card


def test_a_member_forwarding_back_to_its_group_is_refused(team, people, client_for, owner):
    """team → anna → (forward, no copy) team → anna …: Postfix would defer it for days."""
    with pytest.raises(Exception, match="Forwarding loop: anna@a.example → sales@a.example"):
        account_services.account_update(
            account=people["anna"],
            values={"forward_to": ["sales@a.example"], "forward_keep_copy": False},
        )
    # keeping a copy ends the circle at the mailbox: allowed
    account_services.account_update(
        account=people["anna"],
        values={"forward_to": ["sales@a.example"], "forward_keep_copy": True},
    )
    # carla forwards to the group without a copy: she cannot join it
    account_services.account_update(
        account=people["carla"],
        values={"forward_to": ["sales@a.example"], "forward_keep_copy": False},
    )
    response = client_for(owner).post(
        reverse("accounts:group_member_add", args=[team.pk]), {"address": "carla@a.example"}
    )
    assert response.status_code == 200
    assert "Forwarding loop:" in response.content.decode()
    assert not team.members.filter(address="carla@a.example").exists()
