"""Identities: the account's address and its aliases, each with a display name."""

from django.urls import reverse

from accounts import services as account_services
from webmail_settings.models import IdentityName


def test_identities_list_address_and_aliases(portal, alice, domain_a):
    account_services.alias_add(account=alice, address="sales@a.example")
    body = portal.get(reverse("portal:identities")).content.decode()
    assert alice.address in body and "sales@a.example" in body


def test_display_name_per_identity(portal, alice):
    account_services.alias_add(account=alice, address="sales@a.example")
    response = portal.post(
        reverse("portal:identities"),
        {"address": "sales@a.example", "display_name": "Sales team"},
    )
    assert response.status_code == 302
    assert IdentityName.objects.get(account=alice, address="sales@a.example").display_name == (
        "Sales team"
    )
    data = portal.get(reverse("portal:api_settings")).json()
    names = {i["address"]: i["display_name"] for i in data["identities"]}
    assert names == {alice.address: "Alice Test", "sales@a.example": "Sales team"}


def test_someone_elses_address_is_refused(portal, alice, account_b):
    response = portal.post(
        reverse("portal:identities"), {"address": account_b.address, "display_name": "Me"}
    )
    assert response.status_code == 200
    assert "not one of your addresses" in response.content.decode()
    assert not IdentityName.objects.exists()
