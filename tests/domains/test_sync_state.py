"""What a domain push tells the mail system (domains/sync.py `domain_state`,
`default_aliases`), called directly: every DKIM key with the one that signs, and the default
rows: abuse@ to the provider, postmaster@ and support@ to the organization's owner (the
provider without one), never a row that points at itself."""

import pytest

from domains import dkim
from domains import services as domain_services
from domains.models import Membership, Role
from domains.sync import default_aliases, domain_state


@pytest.fixture(autouse=True)
def provider(settings):
    settings.PLATFORM_ABUSE_ADDRESS = " Abuse-Desk@Provider.TEST "


def rows(owner_address: str, abuse: str = "abuse-desk@provider.test") -> tuple:
    return (
        ("abuse@a.example", abuse),
        ("postmaster@a.example", owner_address),
        ("support@a.example", owner_address),
    )


def test_the_state_carries_every_dkim_key_and_the_default_rows(domain_a, owner):
    old = domain_a.dkim_keys.get()
    new = domain_services.dkim_rotate(domain=domain_a)
    domain_a.refresh_from_db()
    state = domain_state(domain_a)
    assert (state.name, state.active, state.version) == (
        "a.example",
        True,
        domain_a.desired_version,
    )
    assert {(k.selector, k.private_key_pem, k.active) for k in state.dkim_keys} == {
        (new.selector, dkim.private_key_pem(new.private_key), True),
        (old.selector, dkim.private_key_pem(old.private_key), False),
    }
    assert state.dkim_keys[0].private_key_pem.startswith("-----BEGIN ")
    assert state.default_aliases == rows("owner@a.test")


def test_the_owner_of_this_organization_not_another_role_or_organization(
    org_a, admin_b, operator, viewer, domain_a, django_user_model
):
    """admin_b (owner of b) and a's operator and viewer exist before a has an owner."""
    assert default_aliases(domain_a) == rows("abuse-desk@provider.test")
    first = django_user_model.objects.create_user("first.owner@a.test", "x")
    Membership.objects.create(user=first, organization=org_a, role=Role.OWNER)
    second = django_user_model.objects.create_user("second.owner@a.test", "x")
    Membership.objects.create(user=second, organization=org_a, role=Role.OWNER)
    assert default_aliases(domain_a) == rows("first.owner@a.test")


def test_addresses_are_lowercased(domain_a, owner, django_user_model):
    django_user_model.objects.filter(pk=owner.pk).update(email=" Owner.Name@A.TEST ")
    assert default_aliases(domain_a) == rows("owner.name@a.test")


def test_no_row_points_at_itself(domain_a, owner, django_user_model, settings):
    """An owner whose login is the domain's postmaster@ gets support@; postmaster@ is left to
    the owner's own mailbox (a row to itself would loop)."""
    django_user_model.objects.filter(pk=owner.pk).update(email="postmaster@a.example")
    settings.PLATFORM_ABUSE_ADDRESS = "abuse@a.example"
    assert default_aliases(domain_a) == (("support@a.example", "postmaster@a.example"),)
