"""Headless Chromium: a mailbox owner whose account requires 2FA signs in, is taken to
enrollment, reads the key from the page, confirms with a TOTP code, saves the backup codes;
then signs in again with a fresh code. Debian's /usr/bin/chromium driven by Playwright."""

import base64
import re

import pytest
from django_otp.oath import totp

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium):
    tab = chromium.new_context().new_page()
    tab.set_default_timeout(15_000)
    return tab


def code_for(secret: str, step_offset: int = 0) -> str:
    key = base64.b32decode(secret)
    return f"{totp(key, 30, 0, 6, step_offset):06d}"


def sign_in(page, base, email):
    page.goto(f"{base}/login/")
    page.fill('input[name="username"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]:has-text("Sign in")')


def test_enroll_totp_then_sign_in_with_a_code(
    django_db_setup, live_server, page, domain_a, make_account
):
    account = make_account(domain_a, "tessa", force_2fa=True)
    base = live_server.url

    sign_in(page, base, account.address)
    page.wait_for_url(re.compile(r"/security/2fa/setup/$"))
    assert page.locator(".qr svg").count() == 1  # the QR code is an inline SVG from the server
    secret = page.inner_text("#totp-secret").strip()
    # Nothing else is reachable before enrollment.
    page.goto(f"{base}/domains/")
    page.wait_for_url(re.compile(r"/security/2fa/setup/$"))
    secret = page.inner_text("#totp-secret").strip()  # the same pending device
    page.fill('input[name="token"]', code_for(secret))
    page.click('button:has-text("Turn on")')
    page.wait_for_selector("text=Your backup codes")
    codes = page.locator("ul.codes code").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10

    page.click("text=Continue")
    page.click('button:has-text("Sign out")')
    page.wait_for_url(re.compile(r"/login/"))

    sign_in(page, base, account.address)
    page.wait_for_url(re.compile(r"/security/verify/$"))
    page.fill('input[name="token"]', code_for(secret, step_offset=1))  # next 30 s window
    page.click('button:has-text("Verify")')
    page.wait_for_url(lambda url: "/security/" not in url and "/login/" not in url)
    assert account.address in page.content()
