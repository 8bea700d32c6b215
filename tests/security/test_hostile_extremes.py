"""The hostile-input sweep's extremes (issue 9), sent to every form the panel and the portal
show and to every API write, each one deterministically (not drawn at random): lone
surrogates, control characters, extreme dates, 10,000-deep JSON, huge page numbers. Never a
500; a refused request leaves the database as it was; refused text names its reason."""

import json

import pytest
from django.apps import apps

from accounts.views import SECTIONS
from security import services as security_services
from tests.security.helpers import clear_cache

from .test_hostile_input import a_objects, discover_forms, sign_in_as  # noqa: F401 (fixture)
from .test_isolation_sweep import fill, walk

SURROGATES = ["\ud800", "a\udfffb"]
CONTROLS = ["a\x1b[31mred", "tab\x0bvertical", "x\x9fy"]
DATES = ["9999-12-31T23:59", "0001-01-01T00:00", "2101-01-01 00:00"]
HUGE_PAGES = ["9223372036854775807", "99999999999999999999999", "-9223372036854775808", "1e309"]
# Rows a refused request may still add: the audit trail records refusals (sign-in failures).
NOT_COMPARED = {"security.AuditEvent"}


def snapshot():
    state = {}
    for app in ("accounts", "domains", "security", "webmail_settings"):
        for model in apps.get_app_config(app).get_models():
            if model._meta.label in NOT_COMPARED:
                continue
            rows = model.objects.order_by("pk").values()
            state[model._meta.label] = [
                {k: v for k, v in row.items() if k not in ("last_login", "last_used_at")}
                for row in rows
            ]
    return state


def post_form(client, action, data):
    """Multipart in UTF-7 when a value holds a surrogate (UTF-8 cannot carry one): Django
    decodes the fields with the charset the request names, as it would an attacker's."""
    if not any(SURROGATES[0] in v or "\udfff" in v for v in data.values()):
        return client.post(action, data)
    encode = lambda text: text.encode("utf-7").decode("ascii")  # noqa: E731
    parts = "".join(
        f'--BB\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{encode(v)}\r\n'
        for k, v in data.items()
    )
    return client.generic(
        "POST",
        action,
        (parts + "--BB--\r\n").encode(),
        content_type="multipart/form-data; boundary=BB; charset=utf-7",
    )


def test_extremes_to_every_form(client, owner, account_a, a_objects):  # noqa: F811
    users = {"owner": owner, "enduser": account_a.user, "anonymous": None}
    forms = discover_forms(client, users, a_objects)
    assert len(forms) >= 20
    checked = 0
    for (action, who), fields in sorted(forms.items()):
        for value in SURROGATES + CONTROLS + DATES:
            sign_in_as(client, users[who])
            clear_cache()
            before = snapshot()
            data = {field: value for field in fields}
            response = post_form(client, action, data)
            where = f"POST {action} as {who} with {value!r}"
            assert response.status_code < 500, where
            if value in SURROGATES + CONTROLS:
                assert response.status_code == 400, f"{where}: answered {response.status_code}"
                assert "may not contain" in response.content.decode(), f"{where}: no reason"
                assert snapshot() == before, f"{where}: refused but the database changed"
            elif response.status_code != 302:
                assert snapshot() == before, f"{where}: refused but the database changed"
            checked += 1
    assert checked > 200


def test_huge_page_numbers_on_every_page(client, owner, account_a, a_objects):  # noqa: F811
    users = {"owner": owner, "enduser": account_a.user}
    pages = 0
    for route, namespace, _pattern in walk():
        if namespace.startswith("admin"):
            continue
        urls = [fill(route, a_objects)]
        if "<slug:section>" in route:
            urls = [fill(route.replace("<slug:section>", s), a_objects) for s in SECTIONS]
        for url in urls:
            for who, user in users.items():
                sign_in_as(client, user)
                for number in HUGE_PAGES[:2]:
                    response = client.get(url, {"page": number, "q": "a"})
                    assert response.status_code < 500, f"GET {url}?page={number} as {who}"
                    pages += 1
    assert pages > 100


def api_writes(a_objects):  # noqa: F811
    for route, namespace, pattern in walk():
        if namespace == "api" and hasattr(pattern.callback, "api_methods"):
            for method in pattern.callback.api_methods:
                if method not in ("GET", "DELETE") and "deactivate" not in route:
                    yield fill(route, a_objects), method, pattern.callback.api_kind


EXTREME_BODIES = [
    '{"first_name": "' + "[" * 10_000 + '"}',  # deep-looking text is fine: inside a string
    "[" * 10_000 + "]" * 10_000,
    '{"a": ' + "{" * 10_000 + "}" * 10_000 + "}",
    '{"forward_to": ' + "[" * 5_000 + '"x"' + "]" * 5_000 + "}",
    *(json.dumps({"first_name": v, "name": v, "password": v}) for v in SURROGATES + CONTROLS),
    json.dumps({"\ud800": "key"}),
    json.dumps({"options": {"job_title": "\x1b"}, "local_part": "x", "first_name": "X"}),
    *(json.dumps({"autoreply_start": d, "autoreply_end": d}) for d in DATES),
    json.dumps(
        {
            "local_part": "dates",
            "first_name": "X",
            "password": "Long-Enough-Pass-1",
            "options": {"autoreply_end": DATES[0]},
        }
    ),
]


def test_extremes_to_every_api_write(client, owner, org_a, account_a, a_objects):  # noqa: F811
    keys = {
        "organization": security_services.token_create(user=owner, name="x", organization=org_a)[1],
        "personal": security_services.token_create(user=account_a.user, name="x")[1],
    }
    writes = list(api_writes(a_objects))
    assert len(writes) >= 6
    for url, method, kind in writes:
        for raw in EXTREME_BODIES:
            before = snapshot()
            response = client.generic(
                method,
                url,
                raw,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {keys[kind]}",
            )
            where = f"{method} {url} {raw[:60]!r}"
            assert response.status_code < 500, where
            if response.status_code >= 400:
                assert response.json().get("error"), f"{where}: no error message"
                assert snapshot() == before, f"{where}: refused but the database changed"
            assert response.status_code != 201 or "dates" not in raw, f"{where}: saved"


@pytest.mark.parametrize("number", HUGE_PAGES)
def test_huge_page_numbers_on_api_lists(client, owner, org_a, domain_a, number):
    key = security_services.token_create(user=owner, name="p", organization=org_a)[1]
    for url in ("/api/v1/domains/", f"/api/v1/domains/{domain_a.pk}/accounts/"):
        response = client.get(url, {"page": number}, HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 200, url
