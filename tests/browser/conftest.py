"""Fixtures for the browser tests: a page in Debian's Chromium (tests/conftest.py)."""

import re

import pytest

from tests.conftest import PASSWORD

SHOTS = "/tmp"


@pytest.fixture
def browser_page(chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(15_000)
    return page


def sign_in(page, live_server, user) -> None:
    """Through the login form, as a person would."""
    page.goto(f"{live_server.url}/login/")
    page.fill('input[name="username"]', user.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]:has-text("Sign in")')
    page.wait_for_url(re.compile(r"/domains/$"))
