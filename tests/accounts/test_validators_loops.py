"""`check_forward_loop` (accounts/validators.py) called directly, as the services call it: which
forwards close a circle Postfix would defer for days, and the exact message the user reads.
The forwards of the other mailboxes are written straight to the table, so only the function
under test decides. (tests/accounts/test_forward_loops.py goes through the pages and services.)"""

import pytest
from django.core.exceptions import ValidationError

from accounts import groups as group_services
from accounts import services
from accounts.models import EmailAccount
from accounts.validators import check_forward_loop

pytestmark = pytest.mark.usefixtures("memory_backend")

TAIL = (
    ". Mail to these addresses would go round without ever being delivered; keep a copy in "
    "one of these mailboxes or remove a forward."
)


def loop(*hops: str) -> str:
    return "Forwarding loop: " + " → ".join(hops) + TAIL


def set_forwards(address: str, *targets: str, keep_copy: bool = False, **fields) -> None:
    EmailAccount.objects.filter(address=address).update(
        forward_to=list(targets), forward_keep_copy=keep_copy, **fields
    )


def check(address, org, *targets, keep_copy=False, new_aliases=None) -> str | None:
    """None if accepted, else the refusal's text."""
    try:
        check_forward_loop(
            address=address,
            organization_id=org.pk,
            forward_to=list(targets),
            keep_copy=keep_copy,
            new_aliases=new_aliases,
        )
    except ValidationError as error:
        return " ".join(error.messages)
    return None


@pytest.fixture
def abc(domain_a, make_account):
    return [make_account(domain_a, name) for name in ("ann", "ben", "cat")]


def test_two_mailboxes_forwarding_to_each_other(org_a, abc):
    set_forwards("ben@a.example", "ann@a.example")
    assert check("ann@a.example", org_a, "ben@a.example") == loop(
        "ann@a.example", "ben@a.example", "ann@a.example"
    )


def test_a_copy_kept_on_either_side_ends_the_circle(org_a, abc):
    set_forwards("ben@a.example", "ann@a.example")
    assert check("ann@a.example", org_a, "ben@a.example", keep_copy=True) is None
    set_forwards("ben@a.example", "ann@a.example", keep_copy=True)
    assert check("ann@a.example", org_a, "ben@a.example") is None


def test_no_forwards_no_loop(org_a, abc):
    set_forwards("ben@a.example", "ann@a.example")
    assert check("ann@a.example", org_a) is None


def test_forwarding_to_itself_or_its_own_alias(org_a, abc):
    ann, _ben, _cat = abc
    assert check("ann@a.example", org_a, "ann@a.example") == loop("ann@a.example", "ann@a.example")
    services.alias_add(account=ann, address="info@a.example")
    assert check("ann@a.example", org_a, "info@a.example") == loop(
        "ann@a.example", "info@a.example (alias of ann@a.example)"
    )


def test_a_chain_over_several_hops_and_an_alias(org_a, abc):
    _ann, _ben, cat = abc
    services.alias_add(account=cat, address="sales@a.example")
    set_forwards("ann@a.example", "ben@a.example")
    set_forwards("ben@a.example", "someone@outside.test", "sales@a.example")
    assert check("cat@a.example", org_a, "ann@a.example") == loop(
        "cat@a.example",
        "ann@a.example",
        "ben@a.example",
        "sales@a.example (alias of cat@a.example)",
    )


@pytest.mark.parametrize(
    "first_stop",
    [
        "nobody@outside.test",  # not a mailbox here: Postfix sends it away
        "cat@a.example",  # a mailbox without forwards: mail stays there
        "keeper",  # a mailbox that keeps a copy
    ],
)
def test_a_branch_that_stops_does_not_end_the_search(org_a, abc, first_stop):
    """ann forwards to a place where mail stops, and to ben, who forwards back to ann."""
    if first_stop == "keeper":
        first_stop = "cat@a.example"
        set_forwards("cat@a.example", "ann@a.example", keep_copy=True)
    set_forwards("ben@a.example", "ann@a.example")
    assert check("ann@a.example", org_a, first_stop, "ben@a.example") == loop(
        "ann@a.example", "ben@a.example", "ann@a.example"
    )


def test_a_long_chain_that_stops_is_no_loop(org_a, domain_a, make_account, abc):
    make_account(domain_a, "dan")
    set_forwards("ben@a.example", "cat@a.example")
    set_forwards("cat@a.example", "dan@a.example", "elsewhere@outside.test")
    assert check("ann@a.example", org_a, "ben@a.example", "nobody@outside.test") is None


def test_a_group_delivers_to_its_active_members(org_a, abc):
    group_services.group_create(
        organization=org_a,
        name="Team",
        address="team@a.example",
        members=["ben@a.example", "cat@a.example"],
    )
    set_forwards("cat@a.example", "ann@a.example")
    assert check("ann@a.example", org_a, "team@a.example") == loop(
        "ann@a.example", "team@a.example (alias of cat@a.example)", "ann@a.example"
    )
    # An inactive member gets nothing from the group, so the circle is open.
    EmailAccount.objects.filter(address="cat@a.example").update(is_active=False)
    assert check("ann@a.example", org_a, "team@a.example") is None


def test_a_mailbox_being_deleted_is_no_longer_in_the_circle(org_a, abc):
    _ann, ben, _cat = abc
    services.alias_add(account=ben, address="help@a.example")
    set_forwards("ben@a.example", "ann@a.example", deleting=True)
    assert check("ann@a.example", org_a, "ben@a.example") is None
    assert check("ann@a.example", org_a, "help@a.example") is None


def test_a_group_member_being_deleted_gets_nothing(org_a, abc):
    group_services.group_create(
        organization=org_a, name="Team", address="team@a.example", members=["ben@a.example"]
    )
    set_forwards("ben@a.example", "ann@a.example", deleting=True)
    assert check("ann@a.example", org_a, "team@a.example") is None


def test_an_account_being_created_counts_as_a_mailbox(org_a, abc):
    set_forwards("ann@a.example", "new@a.example")
    assert check("new@a.example", org_a, "ann@a.example") == loop(
        "new@a.example", "ann@a.example", "new@a.example"
    )


def test_an_alias_being_added_can_close_the_circle(org_a, abc):
    set_forwards("ann@a.example", "help@a.example")
    assert check("ben@a.example", org_a, "ann@a.example") is None
    assert check(
        "ben@a.example", org_a, "ann@a.example", new_aliases={"help@a.example": "ben@a.example"}
    ) == loop("ben@a.example", "ann@a.example", "help@a.example (alias of ben@a.example)")


def test_another_organizations_addresses_are_not_shown(org_a, org_b, abc, domain_b, make_account):
    make_account(domain_b, "bob")
    set_forwards("bob@b.example", "ben@a.example")
    set_forwards("ben@a.example", "ann@a.example")
    assert check("ann@a.example", org_a, "bob@b.example") == loop(
        "ann@a.example",
        "(an address of another organization)",
        "ben@a.example",
        "ann@a.example",
    )
    # Seen from b (bob's forward being checked), a's mailboxes are the other organization.
    set_forwards("ann@a.example", "bob@b.example")
    assert check("bob@b.example", org_b, "ben@a.example") == loop(
        "bob@b.example",
        "(an address of another organization)",
        "(an address of another organization)",
        "bob@b.example",
    )


def test_an_address_being_created_is_shown_as_the_organizations_own(org_a, org_b, domain_b, abc):
    set_forwards("ann@a.example", "new@b.example")
    assert check("new@b.example", org_b, "ann@a.example") == loop(
        "new@b.example", "(an address of another organization)", "new@b.example"
    )
