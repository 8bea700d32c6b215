"""Fixtures for the browser tests: Debian's Chromium driven by Playwright for Python."""

import os
import re

import pytest
from django.db import connections

from tests.conftest import PASSWORD, need

CHROMIUM = "/usr/bin/chromium"
SHOTS = "/tmp"


@pytest.fixture
def browser_page(settings, monkeypatch):
    need(os.path.exists(CHROMIUM), f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    settings.SESSION_COOKIE_SECURE = False  # the live server speaks plain HTTP
    settings.CSRF_COOKIE_SECURE = False
    # Playwright's sync API runs an event loop in this thread; the test's own ORM checks are
    # plain synchronous calls, made while the browser waits.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()
            # ORM calls made while Playwright's loop runs get their own connection: close it,
            # or the test database cannot be dropped at the end of the session.
            connections.close_all()


def sign_in(page, live_server, user) -> None:
    """Through the login form, as a person would."""
    page.goto(f"{live_server.url}/login/")
    page.fill('input[name="username"]', user.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]:has-text("Sign in")')
    page.wait_for_url(re.compile(r"/domains/$"))
