"""Tenant isolation sweep: every URL of the project (enumerated from the resolver, so a new URL
is swept without anyone listing it), its path arguments filled with organization B's objects,
requested with GET and POST by each role of organization A and by an end user of A. Every
answer to a URL naming B's object must be a 404 (never a 403 that tells it exists), or a refusal
made before any lookup, identical for an id that exists nowhere; and none may carry B's data.
The API is swept again with A's tokens."""

import json
import re
from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts import groups as group_services
from accounts import services as account_services
from domains import members as member_services
from security import services as security_services

# Marks of organization B's data that must never appear in an answer to A.
B_MARKS = (
    "b.example",
    "Org B",
    "admin@b.test",
    "B-only-signature",
    "B-only-service",
    "b-only-login@elsewhere.test",
)
# The Django admin is for staff: non-staff are sent to sign in (checked below, not swept).
SKIP_NAMESPACES = ("admin",)
# A GET on a POST-only view is refused before any lookup: it reveals nothing.
METHOD_NOT_ALLOWED = 405


def walk(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk(pattern, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace, pattern


@pytest.fixture
def b_objects(account_b, admin_b, org_b, domain_b):
    from webmail_settings import crypto
    from webmail_settings.models import EmailService, ExternalMailbox, Signature

    alias = account_services.alias_add(account=account_b, address="bobby@b.example")
    token, _key = security_services.token_create(user=admin_b, name="b", organization=org_b)
    signature = Signature.objects.create(
        account=account_b, identity=account_b.address, name="B-only-signature", text="B"
    )
    service = EmailService.objects.create(
        organization=org_b,
        name="B-only-service",
        imap_host="imap.b-only.test",
        imap_port=993,
        smtp_host="smtp.b-only.test",
        smtp_port=465,
    )
    connection = ExternalMailbox.objects.create(
        organization=org_b,
        account=account_b,
        service=service,
        login="b-only-login@elsewhere.test",
        password_encrypted=crypto.encrypt("B-secret"),
    )
    group = group_services.group_create(
        organization=org_b, name="B group", address="team@b.example", members=[account_b.address]
    )
    invitation, _token = member_services.member_invite(
        organization=org_b, email="new@b.test", role="viewer", invited_by_email=admin_b.email
    )
    from accounts.models import BulkJob

    bulk_job = BulkJob.objects.create(
        organization=org_b, domain=domain_b, created_by=admin_b, kind="import", state="preview"
    )
    return {
        "domain": domain_b,
        "account": account_b,
        "bulk_job": bulk_job,
        "alias": alias,
        "token": token,
        "signature": signature,
        "email_service": service,
        "external_mailbox": connection,
        "group": group,
        "membership": admin_b.memberships.get(),
        "invitation": invitation,
    }


# The object a path argument names: by kwarg name, or for a bare "pk" by the path segment
# before it. Anything else fails the sweep until someone decides what it means.
KWARG_OBJECTS = {"domain_pk": "domain", "alias_pk": "alias", "account_pk": "account"}
PK_BY_SEGMENT = {
    "domains": "domain",
    "accounts": "account",
    "tokens": "token",
    "signatures": "signature",
    "email-services": "email_service",
    "mailboxes": "external_mailbox",
    "groups": "group",
    "members": "membership",
    "invitations": "invitation",
    "jobs": "bulk_job",
}
STRING_KWARGS = {"section": "security", "token": "set-password"}
# Pages for people who cannot sign in (password recovery): a signed-in user is sent away.
ANONYMOUS_ONLY = {
    "security:recover",
    "security:recover_sent",
    "security:recover_confirm",
    "security:recover_done",
}


def fill(route: str, objects: dict) -> str:
    def replace(match):
        converter, name = match.group(1), match.group(2)
        if name in STRING_KWARGS:
            return STRING_KWARGS[name]
        if name == "uidb64":  # B's admin's login, as a recovery link names it
            from django.utils.encoding import force_bytes
            from django.utils.http import urlsafe_base64_encode

            return urlsafe_base64_encode(force_bytes(objects["account"].user_id))
        if name in KWARG_OBJECTS:
            return str(objects[KWARG_OBJECTS[name]].pk)
        if name == "pk":
            segment = route[: match.start()].rstrip("/").rsplit("/", 1)[-1]
            if segment in PK_BY_SEGMENT:
                return str(objects[PK_BY_SEGMENT[segment]].pk)
        pytest.fail(
            f"isolation sweep: unknown path argument {name!r} ({converter}) in {route!r}: "
            "add it to KWARG_OBJECTS / PK_BY_SEGMENT with organization B's object"
        )

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", replace, route)


def routes():
    found = [(r, ns, p) for r, ns, p in walk() if not ns.startswith(SKIP_NAMESPACES)]
    assert len(found) > 30, "the resolver walk found too few URLs"
    return found


def assert_clean(response, url, method, who):
    body = response.content.decode(errors="replace")
    for mark in B_MARKS:
        assert mark not in body, f"{method} {url} as {who} shows B's data ({mark!r})"


@pytest.mark.parametrize("role", ["owner", "operator", "viewer", "enduser"])
def test_no_role_of_a_reaches_b(client, role, request, b_objects, account_a, domain_a):
    user = account_a.user if role == "enduser" else request.getfixturevalue(role)
    sweep(client, user, role, b_objects)


def sweep(client, user, role, b_objects):
    swept = 0
    for route, namespace, pattern in routes():
        has_args = "<" in route
        anonymous_only = f"{namespace}:{pattern.name}" in ANONYMOUS_ONLY
        url = fill(route, b_objects)
        for method in ("GET", "POST"):
            client.force_login(user)
            response = getattr(client, method.lower())(url)
            assert response.status_code != 500, f"{method} {url} as {role}: 500"
            assert_clean(response, url, method, role)
            if has_args:
                allowed = {404}
                if method == "GET":
                    allowed.add(METHOD_NOT_ALLOWED)
                if anonymous_only:
                    allowed.add(302)
                if namespace == "api":
                    allowed.add(401)  # the API wants a token; swept with tokens below
                assert response.status_code in allowed, (
                    f"{method} {url} as {role} answered {response.status_code}"
                )
                if response.status_code != 404:  # refused before any lookup: B's id or none
                    assert_same_as_for_no_object(client, method, route, response, role)
            swept += 1
    assert swept > 60


# Ids that exist nowhere: what a refusal made before any lookup must look like for B's too.
NO_OBJECTS = {
    name: SimpleNamespace(pk=2**40, user_id=2**40)
    for name in (
        "domain",
        "account",
        "alias",
        "token",
        "signature",
        "email_service",
        "external_mailbox",
        "group",
        "membership",
        "invitation",
        "bulk_job",
    )
}


def assert_same_as_for_no_object(client, method, route, response, who):
    ghost = client.generic(method, fill(route, NO_OBJECTS))
    assert (ghost.status_code, ghost.get("Location")) == (
        response.status_code,
        response.get("Location"),
    ), f"{method} {route} as {who}: B's object answers unlike a missing one"


def test_admin_sends_non_staff_to_sign_in(client, owner, account_b):
    client.force_login(owner)
    for url in ("/admin/", f"/admin/accounts/emailaccount/{account_b.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]
        assert_clean(response, url, "GET", "owner")


@pytest.fixture
def a_tokens(owner, operator, viewer, org_a, domain_a, make_account):
    enduser = make_account(domain_a, "api-user", api_access=True)
    return {
        "owner": security_services.token_create(user=owner, name="o", organization=org_a)[1],
        "operator": security_services.token_create(user=operator, name="p", organization=org_a)[1],
        "viewer": security_services.token_create(user=viewer, name="v", organization=org_a)[1],
        "enduser": security_services.token_create(user=enduser.user, name="e")[1],
    }


def test_no_token_of_a_reaches_b_through_the_api(client, a_tokens, b_objects):
    api_routes = [(r, p) for r, ns, p in walk() if ns == "api" and "<" in r]
    assert len(api_routes) >= 7
    for who, key in a_tokens.items():
        for route, pattern in api_routes:
            url = fill(route, b_objects)
            for method in pattern.callback.api_methods:
                response = client.generic(
                    method,
                    url,
                    data=json.dumps({"first_name": "X", "address": "x@b.example"}),
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {key}",
                )
                if who == "enduser":  # a personal token: refused before any lookup
                    assert response.status_code == 403, (method, url)
                    ghost = client.generic(
                        method, fill(route, NO_OBJECTS), HTTP_AUTHORIZATION=f"Bearer {key}"
                    )
                    assert ghost.json() == response.json(), (method, url)
                else:
                    assert response.status_code == 404, (
                        f"{method} {url} with {who}'s token answered {response.status_code}"
                    )
                assert_clean(response, url, method, who)
    # B's token list, too: A cannot see or use them
    listing = client.get("/api/v1/domains/", HTTP_AUTHORIZATION=f"Bearer {a_tokens['owner']}")
    assert_clean(listing, "/api/v1/domains/", "GET", "owner")


def test_the_sweep_catches_an_unscoped_view_and_an_unknown_argument(
    client, settings, owner, b_objects, account_a
):
    settings.ROOT_URLCONF = "tests.security.leaky_urls"
    with pytest.raises(AssertionError, match="leaky/accounts"):
        sweep(client, owner, "owner", b_objects)
    from tests.security import leaky_urls

    saved = leaky_urls.urlpatterns
    try:
        from django.urls import clear_url_caches

        leaky_urls.urlpatterns = leaky_urls.telling_urlpatterns
        clear_url_caches()
        with pytest.raises(AssertionError, match="telling/accounts/.* answered 403"):
            sweep(client, owner, "owner", b_objects)
        leaky_urls.urlpatterns = leaky_urls.mystery_urlpatterns
        clear_url_caches()
        with pytest.raises(pytest.fail.Exception, match="widget_id"):
            sweep(client, owner, "owner", b_objects)
    finally:
        leaky_urls.urlpatterns = saved
        clear_url_caches()


# --- privilege escalation (issue 9): a mailbox whose login also belongs to organization B ---


@pytest.fixture
def climb_target(domain_a, make_account, org_a, org_b):
    """A mailbox of A whose login is an operator of A and the owner of B."""
    from accounts.models import BulkJob
    from domains.models import Membership, Role
    from webmail_settings import crypto
    from webmail_settings.models import EmailService, ExternalMailbox, Signature

    account = make_account(domain_a, "boss")
    Membership.objects.create(user=account.user, organization=org_a, role=Role.OPERATOR)
    Membership.objects.create(user=account.user, organization=org_b, role=Role.OWNER)
    account_services.account_update(account=account, values={"api_access": True})
    security_services.token_create(user=account.user, name="own")
    return {
        "domain": domain_a,
        "account": account,
        "alias": account_services.alias_add(account=account, address="bossy@a.example"),
        "token": security_services.token_create(user=account.user, name="b", organization=org_b)[0],
        "signature": Signature.objects.create(
            account=account, identity=account.address, name="sig", text="x"
        ),
        "email_service": (
            service := EmailService.objects.create(
                organization=org_a,
                name="A-service",
                imap_host="imap.a-only.invalid",
                imap_port=993,
                smtp_host="smtp.a-only.invalid",
                smtp_port=465,
            )
        ),
        "external_mailbox": ExternalMailbox.objects.create(
            organization=org_a,
            account=account,
            service=service,
            login="boss@elsewhere.invalid",
            password_encrypted=crypto.encrypt("A-secret"),
        ),
        "group": group_services.group_create(
            organization=org_a, name="Bosses", address="bosses@a.example", members=[account.address]
        ),
        "membership": account.user.memberships.get(organization=org_a),
        "invitation": member_services.member_invite(
            organization=org_a, email="next@a.test", role="owner", invited_by_email="x@a.test"
        )[0],
        "bulk_job": BulkJob.objects.create(
            organization=org_a, domain=domain_a, kind="import", state="preview"
        ),
    }


@pytest.mark.parametrize("role", ["owner", "operator", "viewer", "enduser"])
def test_no_role_of_a_climbs_through_a_shared_login(client, role, request, climb_target, account_a):
    from .privilege_sweep import panel_sweep

    user = account_a.user if role == "enduser" else request.getfixturevalue(role)
    target = climb_target["account"]
    assert panel_sweep(client, user, role, climb_target, target) > 40


def test_no_token_of_a_climbs_through_a_shared_login(client, a_tokens, climb_target):
    from .privilege_sweep import api_sweep

    target = climb_target["account"]
    for who, key in a_tokens.items():
        assert api_sweep(client, key, who, climb_target, target) > 20
