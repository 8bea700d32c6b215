"""The webmail's JSON endpoint: the user's effective settings."""

from django.urls import reverse

from accounts import services as account_services
from tests.conftest import need
from webmail_settings import services
from webmail_settings.models import DomainWebmail


def test_effective_settings(portal, alice, domain_a, make_account):
    account_services.alias_add(account=alice, address="info@a.example")
    make_account(domain_a, "carol")
    make_account(domain_a, "ghost", in_address_book=False)
    portal.post(
        reverse("portal:preferences"),
        {"language": "it", "time_zone": "Europe/Rome", "date_format": "Y-m-d",
         "time_format": "H:i"},
    )  # fmt: skip
    signature = services.signature_save(
        account=alice,
        identity="info@a.example",
        name="Info",
        html="<p>Info desk</p>",
        text="",
        is_default=True,
        bcc_sender=True,
    )
    response = portal.get(reverse("portal:api_settings"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    data = response.json()
    assert data["account"] == {"address": "alice@a.example", "display_name": "Alice Test"}
    assert data["localization"] == {
        "language": "it",
        "time_zone": "Europe/Rome",
        "date_format": "Y-m-d",
        "time_format": "H:i",
    }
    assert data["identities"] == [
        {"address": "alice@a.example", "display_name": "Alice Test", "primary": True,
         "default_signature": None},
        {"address": "info@a.example", "display_name": "Alice Test", "primary": False,
         "default_signature": signature.pk},
    ]  # fmt: skip
    assert data["signatures"] == [
        {"id": signature.pk, "identity": "info@a.example", "name": "Info",
         "html": "<p>Info desk</p>", "text": "Info desk", "is_default": True, "bcc_sender": True}
    ]  # fmt: skip
    assert data["signature_policy"] == "none" and data["corporate_signature"] is None
    emails = [entry["email"] for entry in data["address_book"]]
    assert sorted(emails) == ["alice@a.example", "carol@a.example"]
    assert data["self_service"]["forwarding_allowed"] is False


def test_mandatory_corporate_signature_replaces_own(portal, alice, domain_a):
    services.signature_save(
        account=alice, identity=alice.address, name="Mine", html="<p>mine</p>", text="",
        is_default=True, bcc_sender=False,
    )  # fmt: skip
    DomainWebmail.objects.create(
        domain=domain_a,
        signature_policy="mandatory",
        signature_html="<p>{full_name} · {email}</p>",
        signature_text="{full_name} - {email}",
    )
    data = portal.get(reverse("portal:api_settings")).json()
    assert data["signature_policy"] == "mandatory"
    assert data["corporate_signature"] == {
        "html": "<p>Alice Test · alice@a.example</p>",
        "text": "Alice Test - alice@a.example",
    }
    assert data["signatures"] == []
    assert data["identities"][0]["default_signature"] == "corporate"


def test_anonymous_gets_401(client, db):
    response = client.get(reverse("portal:api_settings"))
    assert response.status_code == 401
    assert response.json() == {"error": "authentication required"}


def test_admin_without_mailbox_gets_404(client_for, owner):
    assert client_for(owner).get(reverse("portal:api_settings")).status_code == 404


def test_only_get(portal):
    assert portal.post(reverse("portal:api_settings")).status_code == 405


def test_personal_token(client, alice):
    try:
        from security.services import token_create
    except ImportError:
        token_create = None
    need(token_create is not None, "the security app's personal API tokens")
    alice.api_access = True
    alice.save(update_fields=["api_access"])
    _token, key = token_create(user=alice.user, name="webmail")
    response = client.get(reverse("portal:api_settings"), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    assert response.json()["account"]["address"] == alice.address
    bad = client.get(reverse("portal:api_settings"), HTTP_AUTHORIZATION="Bearer tm_nope_nope")
    assert bad.status_code == 401
