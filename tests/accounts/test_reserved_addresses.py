"""Reserved addresses as Mailfence has them: abuse@ is the provider's on every domain;
postmaster@ and support@ go to the organization's owner until an account takes them over."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services, sync
from domains import sync as domain_sync


def default_aliases(domain, memory_backend):
    domain_sync.domain_push(domain_id=domain.pk)
    return dict(memory_backend.domains[domain.name].default_aliases)


def test_abuse_is_never_creatable(domain_a, make_account, account_a):
    with pytest.raises(ValidationError, match="abuse@ is reserved for the provider"):
        make_account(domain_a, "abuse")
    with pytest.raises(ValidationError, match="abuse@ is reserved for the provider"):
        services.alias_add(account=account_a, address="Abuse@a.example")


def test_abuse_is_refused_in_the_panel_too(client_for, owner, account_a):
    response = client_for(owner).post(
        reverse("accounts:alias_add", args=[account_a.pk]), {"address": "abuse@a.example"}
    )
    assert "abuse@ is reserved for the provider" in response.content.decode()
    assert not account_a.aliases.exists()


def test_every_domain_has_the_default_rows(domain_a, owner, memory_backend, settings):
    settings.PLATFORM_ABUSE_ADDRESS = "abuse-desk@provider.test"
    assert default_aliases(domain_a, memory_backend) == {
        "abuse@a.example": "abuse-desk@provider.test",
        "postmaster@a.example": "owner@a.test",
        "support@a.example": "owner@a.test",
    }


def test_without_an_owner_postmaster_goes_to_the_provider(domain_a, memory_backend, settings):
    settings.PLATFORM_ABUSE_ADDRESS = "abuse-desk@provider.test"
    rows = default_aliases(domain_a, memory_backend)
    assert rows["postmaster@a.example"] == "abuse-desk@provider.test"


def test_postmaster_and_support_can_be_taken_over_and_given_back(
    domain_a, owner, account_a, make_account, memory_backend
):
    """Taking over is an alias (or an account) of that address: the mail system prefers it
    to the default row, which stays (tests/mailstack shows the delivery)."""
    alias = services.alias_add(account=account_a, address="postmaster@a.example")
    support = make_account(domain_a, "support")
    sync.account_push(account_id=account_a.pk)
    sync.account_push(account_id=support.pk)
    assert memory_backend.accounts["alice@a.example"].aliases == ("postmaster@a.example",)
    assert "support@a.example" in memory_backend.accounts
    services.alias_delete(alias=alias)
    sync.account_push(account_id=account_a.pk)
    assert memory_backend.accounts["alice@a.example"].aliases == ()
    assert default_aliases(domain_a, memory_backend)["postmaster@a.example"] == "owner@a.test"


def test_a_new_owner_address_is_pushed(domain_a, owner, memory_backend, client, run_tasks):
    from accounts.models import User
    from tests.conftest import PASSWORD

    staff = User.objects.create_superuser("staff@provider.test", PASSWORD)
    client.force_login(staff)
    with run_tasks():
        client.post(
            reverse("admin:accounts_user_change", args=[owner.pk]),
            {
                "email": "new-owner@a.test",
                "first_name": "",
                "last_name": "",
                "language": "en",
                "time_zone": "UTC",
                "is_active": "on",
                "last_login_0": "",
                "last_login_1": "",
                "date_joined_0": "2026-01-01",
                "date_joined_1": "00:00:00",
                "password_changed_at_0": "",
                "password_changed_at_1": "",
            },
        )
    owner.refresh_from_db()
    assert owner.email == "new-owner@a.test"
    assert dict(memory_backend.domains["a.example"].default_aliases)["support@a.example"] == (
        "new-owner@a.test"
    )
