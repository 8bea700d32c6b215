"""The API's role rules, endpoint by endpoint: an organization token acts with its creator's
current role (owner: everything; operator: no deactivate, reactivate or delete of accounts, no
domain delete; viewer: read only), a refused call changes nothing, and every endpoint of the
URL conf is in the table (a new one fails here until its rules are written down)."""

import json

import pytest

from accounts import services as account_services
from domains.models import Membership, Role
from security import services as security_services

from .test_hostile_input import snapshot
from .test_isolation_sweep import walk

OWNER, WRITERS, EVERYONE = {"owner"}, {"owner", "operator"}, {"owner", "operator", "viewer"}
NEW_ACCOUNT = {"local_part": "newbie", "first_name": "New", "password": "Long-Enough-Pass-1"}

# (method, route, body, roles allowed, success status). `{deactivated}`: an account that is
# already deactivated (delete and reactivate need one).
RULES = [
    ("GET", "v1/domains/", None, EVERYONE, 200),
    ("POST", "v1/domains/", {"name": "new.example"}, WRITERS, 201),
    ("GET", "v1/domains/{domain}/", None, EVERYONE, 200),
    ("PATCH", "v1/domains/{domain}/", {"default_daily_send_limit": 300}, WRITERS, 200),
    ("DELETE", "v1/domains/{empty_domain}/", None, OWNER, 204),
    ("GET", "v1/domains/{domain}/accounts/", None, EVERYONE, 200),
    ("POST", "v1/domains/{domain}/accounts/", NEW_ACCOUNT, WRITERS, 201),
    ("GET", "v1/accounts/{account}/", None, EVERYONE, 200),
    ("PATCH", "v1/accounts/{account}/", {"first_name": "Changed"}, WRITERS, 200),
    ("DELETE", "v1/accounts/{deactivated}/", None, OWNER, 202),
    ("POST", "v1/accounts/{account}/password/", {"password": "Brand-New-Pass-77"}, WRITERS, 200),
    ("POST", "v1/accounts/{account}/deactivate/", None, OWNER, 200),
    ("POST", "v1/accounts/{deactivated}/reactivate/", None, OWNER, 200),
    ("GET", "v1/accounts/{account}/aliases/", None, EVERYONE, 200),
    ("POST", "v1/accounts/{account}/aliases/", {"address": "new@a.example"}, WRITERS, 201),
    ("DELETE", "v1/accounts/{account}/aliases/{alias}/", None, WRITERS, 204),
]


@pytest.fixture
def objects(org_a, domain_a, make_account):
    from domains import services as domain_services

    account = make_account(domain_a, "alice")
    gone = make_account(domain_a, "gone")
    account_services.account_deactivate(account=gone)
    return {
        "domain": domain_a.pk,
        "empty_domain": domain_services.domain_create(organization=org_a, name="empty.example").pk,
        "account": account.pk,
        "deactivated": gone.pk,
        "alias": account_services.alias_add(account=account, address="al@a.example").pk,
    }


def call(client, method, url, key, body):
    return client.generic(
        method,
        url,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


@pytest.mark.parametrize("role", ["owner", "operator", "viewer"])
@pytest.mark.parametrize(
    ("method", "route", "body", "allowed", "success"), RULES, ids=[f"{r[0]} {r[1]}" for r in RULES]
)
def test_each_endpoint_follows_the_role(
    client, request, org_a, objects, role, method, route, body, allowed, success
):
    user = request.getfixturevalue(role)
    _token, key = security_services.token_create(user=user, name=role, organization=org_a)
    url = "/api/" + route.format(**objects)
    before = snapshot()
    response = call(client, method, url, key, body)
    if role in allowed:
        assert response.status_code == success, (role, method, url, response.content)
    else:
        assert response.status_code == 403, (role, method, url, response.content)
        assert response.json()["error"] == "You are not authorized to perform this operation."
        assert snapshot() == before, f"{method} {url} as {role}: refused but the data changed"


def test_the_table_covers_every_endpoint_and_method():
    found = {
        (method, route)
        for route, namespace, pattern in walk()
        if namespace == "api"
        and hasattr(pattern.callback, "api_methods")
        and pattern.callback.api_kind == "organization"
        for method in pattern.callback.api_methods
    }
    import re

    listed = {(m, "api/" + re.sub(r"\{\w+\}", "<pk>", r)) for m, r, *_ in RULES}
    normalized = {(m, re.sub(r"<[\w:]+>", "<pk>", r)) for m, r in found}
    assert normalized == listed


def test_an_organization_token_follows_its_creators_current_role(client, owner, org_a, objects):
    """Downgraded from owner to viewer, the same token may only read; upgraded back, write."""
    _token, key = security_services.token_create(user=owner, name="ci", organization=org_a)
    url = f"/api/v1/accounts/{objects['account']}/"
    assert call(client, "PATCH", url, key, {"first_name": "One"}).status_code == 200
    Membership.objects.filter(user=owner, organization=org_a).update(role=Role.VIEWER)
    assert call(client, "GET", url, key, None).status_code == 200
    assert call(client, "PATCH", url, key, {"first_name": "Two"}).status_code == 403
    Membership.objects.filter(user=owner, organization=org_a).update(role=Role.OPERATOR)
    assert call(client, "PATCH", url, key, {"first_name": "Three"}).status_code == 200
    assert call(client, "POST", url + "deactivate/", key, None).status_code == 403


def test_a_personal_token_reaches_no_organization_endpoint(client, domain_a, make_account, objects):
    account = make_account(domain_a, "pat", api_access=True)
    _token, key = security_services.token_create(user=account.user, name="mine")
    for method, route, body, *_rest in RULES:
        before = snapshot()
        response = call(client, method, "/api/" + route.format(**objects), key, body)
        assert response.status_code == 403, (method, route)
        assert response.json()["error"] == "This endpoint needs a different kind of token."
        assert snapshot() == before
