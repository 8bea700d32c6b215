"""Issue 9, finding 5: each input that answered HTTP 500, as reported, now answers with a clear
refusal (or a clamped page) and saves nothing."""

import json

import pytest
from django.test import Client

from accounts.models import EmailAccount, User
from security import services as security_services
from tests.conftest import PASSWORD

from .test_hostile_input import snapshot


@pytest.fixture
def org_key(owner, org_a):
    return security_services.token_create(user=owner, name="k", organization=org_a)[1]


def api(client, method, url, key, raw):
    return client.generic(
        method, url, raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def utf7_post(client, url, fields: dict):
    """Form data in a charset that can carry a lone surrogate: Django decodes multipart fields
    with the charset the request names, so "+2AA-" (UTF-7) arrives as "\ud800"."""
    parts = "".join(
        f'--BB\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    return client.generic(
        "POST",
        url,
        (parts + "--BB--\r\n").encode(),
        content_type="multipart/form-data; boundary=BB; charset=utf-7",
    )


def test_lone_surrogate_in_api_json_is_refused(client, org_key, domain_a, account_a):
    before = snapshot()
    create = api(
        client,
        "POST",
        f"/api/v1/domains/{domain_a.pk}/accounts/",
        org_key,
        '{"local_part": "sur", "first_name": "\\ud800", "password": "Long-Enough-Pass-1"}',
    )
    assert create.status_code == 400 and "surrogate" in create.json()["error"]
    password = api(
        client,
        "POST",
        f"/api/v1/accounts/{account_a.pk}/password/",
        org_key,
        '{"password": "Long-Enough-\\udfff-Pass"}',
    )
    assert password.status_code == 400
    patch = api(client, "PATCH", f"/api/v1/accounts/{account_a.pk}/", org_key, '{"\\ud800": "x"}')
    assert patch.status_code == 400
    assert snapshot() == before


def test_lone_surrogate_in_form_text_is_refused(client, owner, domain_a, account_a):
    client.force_login(owner)
    before = snapshot()
    password = utf7_post(
        client, f"/accounts/{account_a.pk}/password/", {"password": "Long+2AA-Enough1"}
    )
    assert password.status_code == 400
    assert "surrogate" in password.content.decode()
    wizard = utf7_post(
        client,
        f"/domains/{domain_a.pk}/accounts/new/?step=1",
        {"first_name": "+2AA-", "local_part": "sur", "password": "Long-Enough-Pass-1"},
    )
    assert wizard.status_code == 400
    assert snapshot() == before


def test_deeply_nested_json_is_refused(client, org_key, account_a):
    before = snapshot()
    deep = '{"forward_to": ' + "[" * 10_000 + "]" * 10_000 + "}"
    response = api(client, "PATCH", f"/api/v1/accounts/{account_a.pk}/", org_key, deep)
    assert response.status_code == 400 and "nested" in response.json()["error"]
    assert snapshot() == before


def test_huge_page_numbers_are_clamped(client, owner, domain_a, account_a, org_key):
    client.force_login(owner)
    huge = "9223372036854775807"
    response = client.get(f"/domains/{domain_a.pk}/accounts/?page={huge}")
    assert response.status_code == 200 and account_a.address in response.content.decode()
    for url in (
        f"/api/v1/domains/{domain_a.pk}/accounts/?page={huge}",
        f"/api/v1/domains/?page={huge}",
    ):
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {org_key}")
        assert response.status_code == 200, url
    assert client.get(f"/security/audit/?page={huge}").status_code == 200
    client.force_login(account_a.user)
    assert client.get(f"/portal/address-book/?page={huge}").status_code == 200


def test_autoresponder_end_in_year_9999_in_a_western_time_zone(client, account_a, owner):
    User.objects.filter(pk__in=[account_a.user_id, owner.pk]).update(
        time_zone="America/Los_Angeles"
    )
    client.force_login(account_a.user)
    before = snapshot()
    response = client.post(
        "/portal/autoresponder/",
        {
            "autoreply_enabled": "on",
            "autoreply_body": "Away",
            "autoreply_start": "2026-01-01T00:00",
            "autoreply_end": "9999-12-31T23:59",
        },
    )
    assert response.status_code == 200 and "2100" in response.content.decode()
    client.force_login(owner)
    response = client.post(
        f"/accounts/{account_a.pk}/autoresponder/",
        {"autoreply_body": "Away", "autoreply_end": "9999-12-31T23:59"},
    )
    assert response.status_code == 200 and "2100" in response.content.decode()
    assert snapshot() == before
    assert EmailAccount.objects.get(pk=account_a.pk).autoreply_end is None


def test_non_json_ip_restrictions_in_the_django_admin(db, account_a):
    staff = Client()
    staff.force_login(User.objects.create_superuser("support@provider.test", PASSWORD))
    url = f"/admin/accounts/emailaccount/{account_a.pk}/change/"
    page = staff.get(url)
    assert page.status_code == 200
    data = {
        name: value
        for name, value in page.context["adminform"].form.initial.items()
        if value is not None and not isinstance(value, list | dict)
    }
    data.update(
        {
            "allowed_networks": "not json at all",
            "services": json.dumps(account_a.services),
            "forward_to": "[]",
            "aliases-TOTAL_FORMS": "0",
            "aliases-INITIAL_FORMS": "0",
        }
    )
    for flag in ("forward_keep_copy", "in_address_book"):
        if page.context["adminform"].form.initial.get(flag):
            data[flag] = "on"
        else:
            data.pop(flag, None)
    response = staff.post(url, data)
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    account_a.refresh_from_db()
    assert account_a.allowed_networks == []
