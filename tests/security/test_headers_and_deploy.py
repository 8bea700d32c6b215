"""Security headers on every answer, secure cookies, and `manage.py check --deploy` clean
with production settings."""

import os
import secrets
import subprocess
import sys

from tests.conftest import ROOT

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "mail.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
}


def deploy_check(extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = deploy_check(PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_refuses_the_development_secret_key():
    result = deploy_check({k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"})
    assert result.returncode != 0
    assert "tempusmail.E001" in result.stdout + result.stderr


def test_headers_on_every_page(client, owner):
    for url in ("/login/", "/api/v1/openapi.json"):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in client.get("/login/")  # plain HTTP: no HSTS


def test_session_and_csrf_cookies_are_locked_down(client, owner, settings):
    from tests.conftest import PASSWORD

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    response = client.get("/login/")
    csrf = response.cookies["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax" and csrf["httponly"]
    response = client.post("/login/", {"username": owner.email, "password": PASSWORD})
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


def test_forms_require_csrf(owner):
    from django.test import Client

    from tests.conftest import PASSWORD

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/login/", {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 403


def test_no_inline_script_in_pages(client, owner, account_a):
    import re

    client.force_login(owner)
    for url in ("/domains/", f"/accounts/{account_a.pk}/security/", "/security/2fa/setup/"):
        body = client.get(url).content.decode()
        for tag in re.findall(r"<script[^>]*>", body):
            assert "src=" in tag, f"inline script on {url}: {tag}"
        assert not re.search(r"\son[a-z]+=", body), f"inline event handler on {url}"
