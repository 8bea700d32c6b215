"""The security headers are on every kind of answer, not only on pages that render fine: a
page, a redirect, 403, 404, 405, a server error, the IP-refused page, JSON (API and its
errors) and a file download. HSTS comes from the production settings, not from the test."""

import pytest
from django.test import Client

from security import services as security_services

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def assert_headers(response, what):
    for name, value in EXPECTED.items():
        assert response.get(name) == value, f"{what}: {name} is {response.get(name)!r}"
    csp = response.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, what
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, what


def test_every_kind_of_answer_carries_the_headers(
    client, settings, owner, viewer, org_a, domain_a, account_a, make_account
):
    settings.ROOT_URLCONF = "tests.security.broken_urls"
    answers = {}
    answers["page 200"] = client.get("/login/")
    answers["redirect 302"] = client.get("/domains/")
    answers["not found 404"] = client.get("/no-such-page/")
    answers["API 401"] = client.get("/api/v1/domains/")
    client.force_login(viewer)
    answers["forbidden 403"] = client.post(f"/accounts/{account_a.pk}/deactivate/")
    answers["method 405"] = client.get(f"/accounts/{account_a.pk}/deactivate/")
    _token, key = security_services.token_create(user=owner, name="h", organization=org_a)
    answers["API JSON 200"] = client.get("/api/v1/domains/", HTTP_AUTHORIZATION=f"Bearer {key}")
    answers["API JSON 404"] = client.get(
        "/api/v1/domains/999999/", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    client.force_login(account_a.user)
    answers["vCard download"] = client.get("/portal/address-book.vcf")
    restricted = make_account(domain_a, "far", allowed_networks=["192.0.2.0/24"])
    client.force_login(restricted.user)
    answers["IP refused 403"] = client.get("/portal/")
    errors = Client(raise_request_exception=False)
    answers["server error 500"] = errors.get("/broken/")

    statuses = {what: response.status_code for what, response in answers.items()}
    assert statuses == {
        "page 200": 200,
        "redirect 302": 302,
        "not found 404": 404,
        "API 401": 401,
        "forbidden 403": 403,
        "method 405": 405,
        "API JSON 200": 200,
        "API JSON 404": 404,
        "vCard download": 200,
        "IP refused 403": 403,
        "server error 500": 500,
    }
    for what, response in answers.items():
        assert_headers(response, what)


@pytest.mark.parametrize("url", ["/login/", "/api/v1/openapi.json"])
def test_hsts_over_https_as_the_settings_give_it(client, url):
    """Tests run with the production defaults (DJANGO_DEBUG off): HSTS for a year, with
    subdomains and preload; nothing over plain HTTP."""
    response = client.get(url, secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "Strict-Transport-Security" not in client.get(url)
