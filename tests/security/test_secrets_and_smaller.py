"""Issue 9, findings 7 and 8: one-time secrets never in a cookie, backup codes hashed, revoked
tokens stay revoked; organization tokens limited, a personal token cannot change admin fields,
a forced change refuses the same password, recovery mail has a real backend, and the Django
admin's deletes go through the services."""

import contextlib
import html
import json
import re

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Alias, User
from domains.models import Domain, Organization
from security import services as security_services
from security.models import ApiToken
from tests.conftest import PASSWORD

from .helpers import clear_cache, sign_in


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_cache()
    yield
    clear_cache()


def cookie_text(client) -> str:
    """Every cookie the browser holds, decoded as far as a reader without the key can."""
    texts = []
    for morsel in client.cookies.values():
        texts.append(morsel.value)
        payload = morsel.value.split(":")[0]
        with contextlib.suppress(Exception):  # not base64: already in the list as it is
            texts.append(json.dumps(signing.b64_decode(payload.encode()).decode(errors="replace")))
    return "\n".join(texts)


# --- finding 7 -----------------------------------------------------------------------------


def test_generated_password_is_shown_once_and_never_travels_in_a_cookie(client, owner, account_a):
    """As reported: the generated password travelled in the signed (not encrypted) messages
    cookie."""
    client.force_login(owner)
    response = client.post(f"/accounts/{account_a.pk}/password/", {"generate": "on"})
    assert response.status_code == 302
    assert "New password" not in cookie_text(client)
    page = client.get(response["Location"]).content.decode()
    shown = html.unescape(re.search(r'<code id="new-password">([^<]+)</code>', page).group(1))
    account_a.user.refresh_from_db()
    assert account_a.user.check_password(shown)
    assert shown not in cookie_text(client)
    for morsel in response.cookies.values():
        assert shown not in morsel.value
    assert html.escape(shown) not in client.get(response["Location"]).content.decode()  # once


def test_reenabling_api_access_or_reactivating_revives_no_token(client, domain_a, make_account):
    """As reported: personal tokens came back to life when API access was re-enabled or the
    account reactivated."""
    account = make_account(domain_a, "tok", api_access=True)
    _token, key = security_services.token_create(user=account.user, name="t")
    _token2, key2 = security_services.token_create(user=account.user, name="t2")

    def me(k):
        return client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {k}").status_code

    account_services.account_update(account=account, values={"api_access": False})
    account_services.account_update(account=account, values={"api_access": True})
    assert me(key) == 401
    account_services.account_deactivate(account=account)
    account_services.account_reactivate(account=account)
    assert me(key2) == 401
    client.force_login(account.user)
    page = client.get("/security/tokens/").content.decode()
    assert page.count("revoked") >= 2 and "Revoke</button>" not in page


# --- finding 8 -----------------------------------------------------------------------------


def test_viewer_cannot_create_organization_tokens_without_limit(client, viewer, org_a):
    client.force_login(viewer)
    for i in range(12):
        client.post("/security/api-tokens/", {"name": f"t{i}", "org": org_a.pk})
    assert ApiToken.objects.filter(user=viewer, revoked_at__isnull=True).count() == 10
    page = client.post("/security/api-tokens/", {"name": "more", "org": org_a.pk})
    assert "at most 10 tokens" in page.content.decode()


def test_personal_token_cannot_change_in_address_book(client, domain_a, make_account):
    account = make_account(domain_a, "hide", api_access=True)
    _token, key = security_services.token_create(user=account.user, name="t")
    response = client.patch(
        "/api/v1/me/",
        json.dumps({"in_address_book": False}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 400
    account.refresh_from_db()
    assert account.in_address_book


def test_forced_password_change_refuses_the_same_password(client, domain_a, make_account):
    account = make_account(domain_a, "forced", force_password_change=True)
    assert sign_in(client, account.address)["Location"] == "/security/password/"
    response = client.post(
        "/security/password/",
        {"old_password": PASSWORD, "new_password": PASSWORD, "new_password2": PASSWORD},
    )
    assert (
        response.status_code == 200 and "different from your current" in response.content.decode()
    )
    account.refresh_from_db()
    assert account.force_password_change
    assert client.get("/domains/")["Location"] == "/security/password/"


def test_recovery_mail_has_a_real_backend_configured():
    """As reported: no EMAIL_* settings, recovery mail was only logged. Settings come from
    EMAIL_URL; the mail stack's test sends one through Postfix and reads it over IMAP."""
    import dj_email_url

    conf = dj_email_url.parse("submission://noreply%40a.example:secret@mail.example:587")
    assert conf["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (conf["EMAIL_HOST_USER"], conf["EMAIL_PORT"], conf["EMAIL_USE_TLS"]) == (
        "noreply@a.example",
        587,
        True,
    )
    from django.conf import settings

    assert settings.EMAIL_URL and settings.DEFAULT_FROM_EMAIL


@pytest.fixture
def staff(db):
    client = Client()
    client.force_login(User.objects.create_superuser("support@provider.test", PASSWORD))
    return client


@pytest.fixture
def removed(monkeypatch):
    """Names whose removal from the mail system was enqueued (the worker's task)."""
    from domains import services as domain_services

    names = []
    monkeypatch.setattr(domain_services.remove_domain, "delay", names.append)
    return names


def test_admin_bulk_delete_of_a_domain_removes_it_from_the_mail_system(
    staff, removed, org_a, django_capture_on_commit_callbacks
):
    """As reported: the Django admin's bulk delete skipped the mail-server removal."""
    from domains import services as domain_services

    domain = domain_services.domain_create(organization=org_a, name="gone.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("admin:domains_domain_changelist"),
            {"action": "delete_selected", "_selected_action": [domain.pk], "post": "yes"},
        )
    assert response.status_code == 302
    assert not Domain.objects.filter(pk=domain.pk).exists()
    assert removed == ["gone.example"]


def test_admin_bulk_delete_of_an_organization_goes_through_the_service(
    staff, removed, plan, django_capture_on_commit_callbacks
):
    """An organization still holding a domain is refused whole (nothing half-deleted, the mail
    system untouched); an empty one is deleted by the service, which audits it."""
    from domains import services as domain_services
    from security.models import AuditEvent

    keeping = Organization.objects.create(name="Keeping", plan=plan)
    domain_services.domain_create(organization=keeping, name="kept.example")
    leaving = Organization.objects.create(name="Leaving", plan=plan)
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            reverse("admin:domains_organization_changelist"),
            {"action": "delete_selected", "_selected_action": [keeping.pk], "post": "yes"},
        )
        response = staff.post(
            reverse("admin:domains_organization_changelist"),
            {"action": "delete_selected", "_selected_action": [leaving.pk], "post": "yes"},
        )
    assert response.status_code == 302
    assert Domain.objects.filter(name="kept.example").exists() and removed == []
    assert not Organization.objects.filter(pk=leaving.pk).exists()
    assert AuditEvent.objects.filter(action="organization.delete", object_repr="Leaving").exists()


def test_admin_delete_of_an_alias_reaches_the_mail_system(staff, account_a):
    alias = account_services.alias_add(account=account_a, address="old@a.example")
    account_a.refresh_from_db()
    version = account_a.desired_version
    staff.post(reverse("admin:accounts_alias_delete", args=[alias.pk]), {"post": "yes"})
    assert not Alias.objects.filter(pk=alias.pk).exists()
    account_a.refresh_from_db()
    assert account_a.desired_version > version  # pushed: the alias leaves Postfix's map


def test_admin_cannot_unrevoke_a_token(staff, owner, org_a):
    token, _key = security_services.token_create(user=owner, name="t", organization=org_a)
    security_services.token_revoke(token=token)
    page = staff.get(reverse("admin:security_apitoken_change", args=[token.pk])).content.decode()
    assert 'name="revoked_at' not in page
