"""The account list in a browser: the row's More menu deactivates, the badge follows live."""

import re

import pytest

from accounts.models import EmailAccount
from tests.browser.conftest import SHOTS, sign_in
from tests.conftest import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_deactivate_from_the_more_menu_then_offline_live(
    django_db_setup,
    live_server,
    browser_page,
    start_worker,
    owner,
    domain_a,
    make_account,
    tmp_path,
):
    page = browser_page
    gate = tmp_path / "gate"  # pushes wait while it exists
    start_worker(
        env={
            "MAIL_BACKEND": "tests.accounts.failing_backend.GatedBackend",
            "GATED_BACKEND_FLAG": str(gate),
        }
    )
    account = make_account(domain_a, "dora")  # the last (only) row: its menu opens below it
    wait_until(lambda: EmailAccount.objects.get(pk=account.pk).status == "online", what="Online")
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/domains/{domain_a.pk}/accounts/")
    row = f"#account-{account.pk}"
    assert page.get_attribute(row, "data-status") == "online"

    page.click(f"{row} summary:has-text('More')")
    button = page.locator(f"{row} button:has-text('Deactivate')")
    box = button.bounding_box()
    assert box and box["height"] > 0
    # Not clipped or covered: the button itself is what a click at its centre reaches.
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.textContent.trim()",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert hit == "Deactivate"
    page.screenshot(path=f"{SHOTS}/tempusmail-more-menu.png")
    gate.touch()
    button.click()

    page.wait_for_url(re.compile(rf"/domains/{domain_a.pk}/accounts/$"))
    assert "dora@a.example deactivated." in page.inner_text(".messages")
    assert page.get_attribute(row, "data-status") == "updating"
    page.evaluate("window.__sameDocument = true")
    assert page.inner_text(f"{row} .badge") == "Updating"
    gate.unlink()
    page.wait_for_selector(f"{row}[data-status='offline']", timeout=30_000)
    assert page.inner_text(f"{row} .badge") == "Offline"
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    page.click(f"{row} summary:has-text('More')")
    assert page.locator(f"{row} a:has-text('Delete')").is_visible()
    assert page.locator(f"{row} button:has-text('Reactivate')").is_visible()
