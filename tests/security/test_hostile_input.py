"""Hostile input sweep: hypothesis posts generated hostile values (huge strings, unicode, NUL
bytes, markup, bad addresses and CIDRs, negative and huge numbers, missing and duplicated
fields) to every form the panel and the portal show, and to every API endpoint. Never a 500;
a refused request (anything but a redirect or a known success page) shows a clear error and
leaves the database exactly as it was: the snapshot is compared after every refusal."""

import json
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.apps import apps
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import groups as group_services
from accounts.services import EDITABLE_FIELDS
from accounts.views import SECTIONS
from domains import members as member_services
from security import services as security_services
from tests.security.helpers import clear_cache

from .test_isolation_sweep import fill, walk

HOSTILE = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["a", "é", "🙂", "<", "\x00"]), st.integers(300, 70000)
    ),
    st.sampled_from(
        [
            "\x00",
            "ok\x00ok",
            "<script>alert(1)</script>",
            '"><img src=x onerror=alert(1)>',
            "' OR 1=1 --",
            "../../etc/passwd",
            "999.999.999.999/33",
            "10.0.0.0/99",
            "::1/200",
            "not-an-address",
            "a@b@c",
            "x@-bad-.example",
            "ünïcödé@exämple.test",
            "\u202etxt.exe",
            "-1",
            "0",
            "-99999999999999999999",
            "99999999999999999999999999",
            "1e309",
            "NaN",
            "",
            " ",
            "2026-13-45T25:61",
            # issue 9 (test_hostile_extremes.py sends each of these to every form and write):
            "a\x1b[31mred",
            "line\rbreak",
            "9999-12-31T23:59",
            "0001-01-01T00:00",
            "9223372036854775807",
        ]
    ),
    st.integers(-(2**70), 2**70).map(str),
)
FIELD_VALUES = st.one_of(st.none(), st.lists(HOSTILE, min_size=1, max_size=2))  # None: missing
# Models whose rows must not change when a request is refused.
WATCHED_APPS = ("accounts", "domains", "security", "webmail_settings")
SKIP_FIELDS = {"last_login", "last_used_at"}
ERROR_MARKS = ('role="alert"', 'class="error"', "msg-error", 'class="errors"')
SKIP_ACTIONS = ("/logout/",)
# Forms that answer an accepted request with a page (the new key, shown once), not a redirect.
ACCEPTED_WITH_200 = {
    "/security/tokens/": 'id="new-token"',
    "/security/api-tokens/": 'id="new-token"',
}


# The audit log records refusals too (a failed sign-in, a refused address): a record of the
# attempt, not a change the refused input made.
NOT_COMPARED = {"security.AuditEvent"}


# A sign-in step ends the attempt on a wrong code (docs/security.md): that is its refusal.
ENDS_SIGN_IN = {"/security/verify/"}


def snapshot():
    state = {}
    for app in WATCHED_APPS:
        for model in apps.get_app_config(app).get_models():
            if model._meta.label in NOT_COMPARED:
                continue
            rows = model.objects.order_by("pk").values()
            state[model._meta.label] = [
                {k: v for k, v in row.items() if k not in SKIP_FIELDS} for row in rows
            ]
    return state


def sign_in_as(client, user):
    if user is None:
        client.logout()
    else:
        client.force_login(user)


class FormFinder(HTMLParser):
    """Every <form method=post> on a page: its action and the names of its fields."""

    def __init__(self, page_url):
        super().__init__()
        self.page_url, self.forms, self.current = page_url, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            action = urljoin(self.page_url, attrs.get("action") or self.page_url)
            self.current = (urlsplit(action).path, set())
            self.forms.append(self.current)
        elif (
            self.current
            and tag in ("input", "select", "textarea", "button")
            and attrs.get("name") not in (None, "", "csrfmiddlewaretoken")
        ):
            self.current[1].add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


@pytest.fixture
def a_objects(account_a, domain_a, owner, org_a):
    from accounts import services as account_services
    from accounts.models import BulkJob
    from webmail_settings import crypto
    from webmail_settings.models import EmailService, ExternalMailbox, Signature

    account_services.account_update(account=account_a, values={"api_access": True})
    service = EmailService.objects.create(
        organization=org_a,
        name="A service",
        imap_host="imap.a-service.invalid",  # never resolves: no test reaches a real server
        imap_port=993,
        smtp_host="smtp.a-service.invalid",
        smtp_port=465,
    )
    return {
        "domain": domain_a,
        "account": account_a,
        "alias": account_services.alias_add(account=account_a, address="al@a.example"),
        "token": security_services.token_create(user=owner, name="t", organization=org_a)[0],
        "signature": Signature.objects.create(
            account=account_a, identity=account_a.address, name="sig", text="x"
        ),
        "email_service": service,
        "external_mailbox": ExternalMailbox.objects.create(
            organization=org_a,
            account=account_a,
            service=service,
            login="a-login@a-service.invalid",
            password_encrypted=crypto.encrypt("x"),
        ),
        "group": group_services.group_create(
            organization=org_a, name="Team", address="team@a.example", members=[account_a.address]
        ),
        "membership": owner.memberships.get(),
        "invitation": member_services.member_invite(
            organization=org_a, email="new@a.test", role="viewer", invited_by_email=owner.email
        )[0],
        "bulk_job": BulkJob.objects.create(
            organization=org_a, domain=domain_a, created_by=owner, kind="import", state="preview"
        ),
    }


def discover_forms(client, users, objects):
    """Crawl every GET-able page of the resolver as each user; collect the forms it shows."""
    found = {}
    for route, namespace, _pattern in walk():
        if namespace.startswith("admin") or namespace == "api":
            continue
        urls = [fill(route, objects)]
        if "<slug:section>" in route:
            urls = [fill(route.replace("<slug:section>", s), objects) for s in SECTIONS]
        for url in urls:
            for who, user in users.items():
                sign_in_as(client, user)
                response = client.get(url)
                if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                    continue
                finder = FormFinder(url)
                finder.feed(response.content.decode())
                for action, fields in finder.forms:
                    if fields and not action.startswith(SKIP_ACTIONS):
                        found.setdefault((action, who), set()).update(fields)
    return found


def test_hostile_values_to_every_form(client, owner, account_a, a_objects):
    users = {"owner": owner, "enduser": account_a.user, "anonymous": None}
    forms = discover_forms(client, users, a_objects)
    assert len(forms) >= 20, sorted(forms)
    assert ("/login/", "anonymous") in forms
    for (action, who), fields in sorted(forms.items()):
        with transaction.atomic():  # every form starts from the same data (no earlier deactivate)
            run_form(client, users[who], action, sorted(fields))
            transaction.set_rollback(True)


def run_form(client, user, action, fields):
    @settings(
        max_examples=6,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(values=st.fixed_dictionaries({f: FIELD_VALUES for f in fields}))
    def check(values):
        data = {k: v for k, v in values.items() if v is not None}
        data["csrfmiddlewaretoken"] = "x" * 32  # a browser always sends it (not checked here)
        sign_in_as(client, user)
        clear_cache()
        before = snapshot()
        response = client.post(action, data)
        where = f"POST {action} {sorted(data)}"
        assert response.status_code < 500, where
        body = response.content.decode(errors="replace")
        assert "<script>alert(1)</script>" not in body, f"{where}: markup echoed unescaped"
        if user is not None and response.status_code == 302 and action not in ENDS_SIGN_IN:
            assert not response["Location"].startswith("/login/"), f"{where}: signed out"
        success_mark = ACCEPTED_WITH_200.get(action)
        if response.status_code == 302 or (success_mark is not None and success_mark in body):
            return  # accepted: the values were valid for this form
        after = snapshot()
        assert after == before, f"{where}: refused ({response.status_code}), database changed"
        if response.status_code == 200:
            assert any(mark in body for mark in ERROR_MARKS), f"{where}: no visible error"

    check()


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, min_size=1, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, min_size=1, max_size=3)
    ),
    max_leaves=6,
)
SETTING_FIELDS = sorted(EDITABLE_FIELDS | {"first_name", "last_name", "password", "nope"})
API_FIELDS = [
    "name",
    "local_part",
    "first_name",
    "last_name",
    "password",
    "address",
    "options",
    "quota_mb",
    "services",
    "storage_options_mb",
    "default_daily_send_limit",
    "forward_to",
    "allowed_networks",
    "daily_send_limit",
    "autoreply_start",
    "autoreply_enabled",
    "autoreply_body",
    "time_zone",
    "external_email",
    "password_expiry_months",
]


def test_hostile_values_to_every_api_endpoint(client, owner, org_a, domain_a, account_a, a_objects):
    keys = {
        "organization": security_services.token_create(user=owner, name="h", organization=org_a)[1],
        "personal": security_services.token_create(user=account_a.user, name="h")[1],
    }
    endpoints = [
        (fill(route, a_objects), pattern.callback)
        for route, ns, pattern in walk()
        if ns == "api" and hasattr(pattern.callback, "api_methods")
    ]
    assert len(endpoints) >= 10
    for url, view in endpoints:
        for method in view.api_methods:
            if method in ("GET", "DELETE") or "deactivate" in url:
                continue
            run_api(client, keys[view.api_kind], method, url)


def run_api(client, key, method, url):
    settings_values = st.dictionaries(st.sampled_from(SETTING_FIELDS), JSON_VALUES, max_size=4)
    bodies = st.one_of(
        st.dictionaries(st.sampled_from(API_FIELDS), JSON_VALUES, max_size=5).map(json.dumps),
        settings_values.map(json.dumps),
        st.builds(
            lambda local, options: json.dumps(
                {
                    "local_part": local,
                    "first_name": "X",
                    "password": "Long-Enough-Pass-1",
                    "options": options,
                }
            ),
            st.sampled_from(["new1", "new2", "bad local", ""]),
            settings_values,
        ),
        JSON_VALUES.map(json.dumps),
        st.sampled_from(["", "{", "[]", "null", '{"a":1,"a":2}', "\x00", '{"name": "\\u0000"}']),
        st.sampled_from(  # issue 9: lone surrogates, control characters, 10,000-deep JSON
            ['{"name": "\\ud800"}', '{"first_name": "\\u001b"}', "[" * 10_000 + "]" * 10_000]
        ),
    )

    @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(raw=bodies)
    def check(raw):
        before = snapshot()
        response = client.generic(
            method,
            url,
            data=raw,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        where = f"{method} {url} {raw[:200]!r}"
        assert response.status_code < 500, where
        if response.status_code >= 400:
            assert response.json().get("error"), f"{where}: no error message"
            assert snapshot() == before, f"{where}: refused but the database changed"

    check()
