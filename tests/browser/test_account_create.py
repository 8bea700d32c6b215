"""Headless Chromium walks the wizard and watches the new account go Updating → Online live.

Debian's /usr/bin/chromium driven by Playwright for Python (never a downloaded browser), against
Django's live server on loopback, with a real Celery worker on the same test database.
"""

import re

import pytest

from accounts.models import EmailAccount
from tests.browser.conftest import SHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_wizard_then_badge_goes_from_updating_to_online(
    django_db_setup, live_server, browser_page, start_worker, owner, domain_a, tmp_path
):
    # (django_db_setup first: the test database must outlive the session-wide live server.)
    page = browser_page
    # Pushes wait while the gate file exists, as on a busy mail system: Updating is seen.
    gate = tmp_path / "gate"
    start_worker(
        env={
            "MAIL_BACKEND": "tests.accounts.failing_backend.GatedBackend",
            "GATED_BACKEND_FLAG": str(gate),
        }
    )
    row_polls = []
    page.on("request", lambda r: "/row/" in r.url and row_polls.append(r.url))

    sign_in(page, live_server, owner)

    page.click("text=a.example")
    page.wait_for_url(re.compile(rf"/domains/{domain_a.pk}/accounts/$"))
    page.click("text=+ Email account")

    # Step 1: who, which address, a generated password shown once.
    page.wait_for_selector("ol.steps li.current:has-text('New account')")
    page.fill('input[name="first_name"]', "Carol")
    page.fill('input[name="last_name"]', "Jones")
    page.fill('input[name="local_part"]', "carol")
    page.click('button[value="generate"]')
    generated = page.inner_text("#generated-password")
    assert len(generated) >= 12
    page.screenshot(path=f"{SHOTS}/tempusmail-wizard-step1.png", full_page=True)
    page.click('button[value="next"]')

    # Step 2: capacity and services from the domain's options.
    page.wait_for_selector("ol.steps li.current:has-text('Services')")
    page.select_option('select[name="quota_mb"]', "5120")
    page.uncheck('input[name="services"][value="pop"]')
    page.screenshot(path=f"{SHOTS}/tempusmail-wizard-step2.png", full_page=True)
    page.click('button[value="next"]')

    # Step 3 and back again: what was typed is kept.
    page.wait_for_selector("ol.steps li.current:has-text('Account security')")
    page.fill('textarea[name="allowed_networks"]', "192.0.2.0/24")
    page.click('button[value="back"]')
    page.wait_for_selector("ol.steps li.current:has-text('Services')")
    assert page.input_value('select[name="quota_mb"]') == "5120"
    assert not page.is_checked('input[name="services"][value="pop"]')
    page.click('button[value="next"]')
    page.wait_for_selector("ol.steps li.current:has-text('Account security')")
    assert page.input_value('textarea[name="allowed_networks"]') == "192.0.2.0/24"
    page.click('button[value="next"]')

    # Step 4: options, then Create. Nothing was saved before this click.
    page.wait_for_selector("ol.steps li.current:has-text('Options')")
    assert not EmailAccount.objects.filter(address="carol@a.example").exists()
    page.fill('textarea[name="forward_to"]', "carol@elsewhere.test")
    gate.touch()
    with page.expect_response(re.compile(rf"/domains/{domain_a.pk}/accounts/$")) as listing:
        page.click('button[value="create"]')
    served = listing.value.text()  # the list as the server first rendered it
    page.wait_for_url(re.compile(rf"/domains/{domain_a.pk}/accounts/$"))
    assert "Email account carol@a.example created." in page.inner_text(".messages")
    account = EmailAccount.objects.select_related("user").get(address="carol@a.example")
    assert account.user.check_password(generated)
    assert account.quota_mb == 5120 and "pop" not in account.services

    # The live badge: Updating now, Online once the worker pushed, with no page reload.
    row = re.search(rf'<tr id="account-{account.pk}"[^>]*>', served).group(0)
    assert 'data-status="updating"' in row and 'hx-trigger="every 2s"' in row
    page.evaluate("window.__sameDocument = true")
    badge = page.locator(f"#account-{account.pk} .badge")
    page.screenshot(path=f"{SHOTS}/tempusmail-account-list-updating.png", full_page=True)
    assert badge.inner_text() == "Updating"
    gate.unlink()  # the mail system is done
    page.wait_for_selector(f"#account-{account.pk}[data-status='online']", timeout=30_000)
    assert badge.inner_text() == "Online"
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    assert row_polls, "the row was refreshed by htmx polling"
    assert page.get_attribute(f"#account-{account.pk}", "hx-get") is None  # polling stopped
    page.screenshot(path=f"{SHOTS}/tempusmail-account-list.png", full_page=True)
    account.refresh_from_db()
    assert account.status == "online"
