"""The JSON API: personal and organization tokens, the same services and limits as the panel."""

import json
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from accounts.models import EmailAccount
from security import services
from security.models import ApiToken, AuditEvent


def call(client, method, url, token, data=None, **extra):
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}", **extra}
    if data is not None:
        kwargs["data"] = json.dumps(data)
        kwargs["content_type"] = "application/json"
    return getattr(client, method.lower())(url, **kwargs)


@pytest.fixture
def org_key(owner, org_a):
    return services.token_create(user=owner, name="ci", organization=org_a)[1]


def test_personal_token_is_shown_once_stored_hashed_and_revocable(client, domain_a, make_account):
    account = make_account(domain_a, "pat", api_access=True)
    client.force_login(account.user)
    page = client.post("/security/tokens/", {"name": "laptop"}).content.decode()
    key = re.search(r'<code id="new-token">([^<]+)</code>', page).group(1)
    token = ApiToken.objects.get(user=account.user)
    assert key not in token.key_hash and len(token.key_hash) == 64
    assert key not in client.get("/security/tokens/").content.decode()
    me = call(client, "GET", "/api/v1/me/", key)
    assert me.status_code == 200 and me.json()["address"] == account.address
    client.post(f"/security/tokens/{token.pk}/revoke/")
    assert call(client, "GET", "/api/v1/me/", key).status_code == 401


def test_personal_token_dies_with_api_access_or_deactivation(domain_a, make_account, client):
    account = make_account(domain_a, "quinn", api_access=True)
    _token, key = services.token_create(user=account.user, name="t")
    assert call(client, "GET", "/api/v1/me/", key).status_code == 200
    account_services.account_update(account=account, values={"api_access": False})
    assert call(client, "GET", "/api/v1/me/", key).status_code == 401
    account_services.account_update(account=account, values={"api_access": True})
    assert call(client, "GET", "/api/v1/me/", key).status_code == 401  # stays revoked
    _token, key = services.token_create(user=account.user, name="t2")
    assert call(client, "GET", "/api/v1/me/", key).status_code == 200
    account_services.account_deactivate(account=account)
    assert call(client, "GET", "/api/v1/me/", key).status_code == 401


def test_no_personal_token_without_api_access(client, account_a):
    client.force_login(account_a.user)
    page = client.post("/security/tokens/", {"name": "x"}).content.decode()
    assert "API access is not enabled" in page
    assert not ApiToken.objects.exists()


def test_personal_token_honours_ip_restrictions_and_is_audited(client, domain_a, make_account):
    account = make_account(domain_a, "rita", api_access=True, allowed_networks=["192.0.2.0/24"])
    _token, key = services.token_create(user=account.user, name="t")
    assert call(client, "GET", "/api/v1/me/", key).status_code == 403
    assert AuditEvent.objects.filter(action="ip.refused", via="api").exists()
    assert call(client, "GET", "/api/v1/me/", key, REMOTE_ADDR="192.0.2.1").status_code == 200


def test_personal_token_changes_own_settings_but_not_admin_ones(client, domain_a, make_account):
    account = make_account(domain_a, "sam", api_access=True)
    _token, key = services.token_create(user=account.user, name="t")
    ok = call(
        client, "PATCH", "/api/v1/me/", key, {"autoreply_enabled": True, "autoreply_body": "Away"}
    )
    assert ok.status_code == 200, ok.content
    account.refresh_from_db()
    assert account.autoreply_enabled
    refused = call(client, "PATCH", "/api/v1/me/", key, {"quota_mb": 10240})
    assert refused.status_code == 400 and "Unknown settings" in refused.json()["error"]
    assert call(client, "GET", "/api/v1/domains/", key).status_code == 403


def test_org_token_manages_domains_accounts_aliases_through_the_services(
    client, org_key, domain_a, plan
):
    listing = call(client, "GET", "/api/v1/domains/", org_key).json()
    assert [d["name"] for d in listing["results"]] == ["a.example"]
    created = call(
        client,
        "POST",
        f"/api/v1/domains/{domain_a.pk}/accounts/",
        org_key,
        {
            "local_part": "tom",
            "first_name": "Tom",
            "password": "Long-Enough-Pass-1",
            "options": {"quota_mb": 5120, "forward_to": ["x@elsewhere.test"]},
        },
    )
    assert created.status_code == 201, created.content
    account = EmailAccount.objects.get(address="tom@a.example")
    assert account.quota_mb == 5120 and account.forward_to == ["x@elsewhere.test"]
    assert account.user.check_password("Long-Enough-Pass-1")
    bad = call(
        client,
        "PATCH",
        f"/api/v1/accounts/{account.pk}/",
        org_key,
        {"daily_send_limit": plan.max_daily_send_limit + 1},
    )
    assert bad.status_code == 400 and "fields" in bad.json()
    alias = call(
        client,
        "POST",
        f"/api/v1/accounts/{account.pk}/aliases/",
        org_key,
        {"address": "thomas@a.example"},
    )
    assert alias.status_code == 201
    gone = call(
        client, "DELETE", f"/api/v1/accounts/{account.pk}/aliases/{alias.json()['id']}/", org_key
    )
    assert gone.status_code == 204
    assert AuditEvent.objects.filter(action="alias.delete", via="api").exists()


def test_org_token_respects_plan_limits(client, org_key, domain_a, make_account, plan):
    for i in range(plan.max_accounts):
        make_account(domain_a, f"user{i}")
    response = call(
        client,
        "POST",
        f"/api/v1/domains/{domain_a.pk}/accounts/",
        org_key,
        {"local_part": "extra", "first_name": "X", "password": "Long-Enough-Pass-1"},
    )
    assert response.status_code == 400 and "at most" in response.json()["error"]


def test_viewer_token_reads_but_cannot_write(client, viewer, org_a, domain_a, account_a):
    _t, key = services.token_create(user=viewer, name="ro", organization=org_a)
    assert call(client, "GET", f"/api/v1/accounts/{account_a.pk}/", key).status_code == 200
    response = call(client, "PATCH", f"/api/v1/accounts/{account_a.pk}/", key, {"first_name": "Z"})
    assert response.status_code == 403
    assert call(client, "POST", "/api/v1/domains/", key, {"name": "new.example"}).status_code == 403


def test_org_token_dies_with_membership(client, operator, org_a, domain_a):
    _t, key = services.token_create(user=operator, name="ops", organization=org_a)
    assert call(client, "GET", "/api/v1/domains/", key).status_code == 200
    operator.memberships.all().delete()
    assert call(client, "GET", "/api/v1/domains/", key).status_code == 401


def test_org_tokens_page(client_for, owner, org_a):
    client = client_for(owner)
    page = client.post("/security/api-tokens/", {"name": "deploy", "org": org_a.pk})
    assert 'id="new-token"' in page.content.decode()
    assert ApiToken.objects.get(organization=org_a).user == owner
    # The header to send is shown as text, not swallowed as an HTML tag.
    assert '<code id="auth-header">Authorization: Bearer &lt;token&gt;</code>' in (
        page.content.decode()
    )


def test_openapi_document_is_the_published_one(client):
    """The document clients generated their code from (tests/api/openapi_v1.json, saved
    before the API moved into each app's api.py): any change to it is deliberate."""
    published = json.loads((Path(__file__).parents[1] / "api" / "openapi_v1.json").read_text())
    assert client.get("/api/v1/openapi.json").json() == published


def test_no_token_no_access(client, domain_a):
    assert client.get("/api/v1/domains/").status_code == 401
    assert call(client, "GET", "/api/v1/domains/", "tm_nothing_here").status_code == 401


def test_account_create_options_cannot_smuggle_names_or_unknown_fields(client, org_key, domain_a):
    url = f"/api/v1/domains/{domain_a.pk}/accounts/"
    base = {"local_part": "una", "first_name": "Una", "password": "Long-Enough-Pass-1"}
    for options in ({"first_name": "Other"}, {"nope": 1}, {"quota_mb": "lots"}, []):
        response = call(client, "POST", url, org_key, {**base, "options": options})
        assert response.status_code == 400, (options, response.content)
        assert response.json()["error"]
    assert not EmailAccount.objects.filter(address="una@a.example").exists()


def test_personal_token_forwarding_follows_the_domain_policy(client, domain_a, make_account):
    from webmail_settings.services import domain_webmail

    account = make_account(domain_a, "fwd", api_access=True)
    _token, key = services.token_create(user=account.user, name="t")
    policy = domain_webmail(domain_a)
    policy.allow_user_forwarding = False
    policy.save()
    response = call(client, "PATCH", "/api/v1/me/", key, {"forward_to": ["x@elsewhere.test"]})
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.forward_to == []
    policy.allow_user_forwarding = True
    policy.save()
    response = call(client, "PATCH", "/api/v1/me/", key, {"forward_to": ["x@elsewhere.test"]})
    assert response.status_code == 200


def test_owner_sees_and_revokes_every_token_of_the_organization(
    client_for, owner, operator, viewer, org_a, admin_b, org_b
):
    token, key = services.token_create(user=operator, name="ops-deploy", organization=org_a)
    other, _k = services.token_create(user=admin_b, name="b-token", organization=org_b)
    assert "ops-deploy" not in client_for(viewer).get("/security/api-tokens/").content.decode()
    assert client_for(viewer).post(f"/security/tokens/{token.pk}/revoke/").status_code == 404
    page = client_for(owner).get("/security/api-tokens/").content.decode()
    assert "ops-deploy" in page and operator.email in page and "b-token" not in page
    assert client_for(owner).post(f"/security/tokens/{other.pk}/revoke/").status_code == 404
    client_for(owner).post(f"/security/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoke", actor=owner).exists()


def test_openapi_schemas_match_real_answers(client, org_key, domain_a, account_a):
    doc = client.get("/api/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert any(code.startswith("2") for code in op["responses"]), (path, method)
    domain = call(client, "GET", f"/api/v1/domains/{domain_a.pk}/", org_key).json()
    assert set(domain) == set(schemas["Domain"]["properties"])
    account = call(client, "GET", f"/api/v1/accounts/{account_a.pk}/", org_key).json()
    assert set(schemas["Account"]["properties"]) <= set(account)
    assert set(account) - set(schemas["Account"]["properties"]) == set(
        schemas["AccountSettings"]["properties"]
    )


def test_paired_rules_read_the_stored_other_half(client, org_key, account_a):
    """Turning the autoresponder on alone keeps the stored message: the rule "on needs a
    message" reads the account's current body (services hold it), and a missing one is named."""
    url = f"/api/v1/accounts/{account_a.pk}/"
    refused = call(client, "PATCH", url, org_key, {"autoreply_enabled": True})
    assert refused.status_code == 400
    assert refused.json()["fields"] == {"autoreply_body": ["Write the automatic reply."]}
    assert call(client, "PATCH", url, org_key, {"autoreply_body": "Away"}).status_code == 200
    on = call(client, "PATCH", url, org_key, {"autoreply_enabled": True})
    assert on.status_code == 200 and on.json()["autoreply_enabled"] is True
    account_a.refresh_from_db()
    assert account_a.autoreply_enabled and account_a.autoreply_body == "Away"


def test_the_account_list_costs_the_same_queries_for_3_or_30_accounts(
    client, org_key, plan, domain_a, make_account
):
    plan.max_accounts = 100
    plan.save()
    url = f"/api/v1/domains/{domain_a.pk}/accounts/"
    for n in range(3):
        make_account(domain_a, f"few{n}")
    call(client, "GET", url, org_key)  # the token's first use of the minute is recorded
    with CaptureQueriesContext(connection) as few:
        assert call(client, "GET", url, org_key).json()["count"] == 3
    for n in range(27):
        make_account(domain_a, f"many{n}")
    with CaptureQueriesContext(connection) as many:
        answer = call(client, "GET", url, org_key).json()
    assert answer["count"] == 30 and {a["status"] for a in answer["results"]} == {"updating"}
    assert len(many.captured_queries) == len(few.captured_queries)
