"""In Chromium: connect a mailbox in the portal and watch the import's progress bar move
(htmx polling) and end at 100 %, with the counts of folders and messages."""

import re

import pytest

from tests.conftest import PASSWORD
from tests.imports.conftest import fill_many
from webmail_settings import services
from webmail_settings.models import ExternalMailbox
from webmail_settings.remote import Server

pytestmark = [pytest.mark.browser, pytest.mark.mailstack, pytest.mark.worker]

EXT_PASSWORD = "Ext-Secret-pw-5"
TOTAL = 2000

# Every value the bar shows, whenever htmx swaps the block (set up once the page loaded).
RECORD = """() => {
  window.seen = [];
  const note = () => {
    const bar = document.querySelector('#sync-bar');
    if (bar) window.seen.push(Number(bar.value));
  };
  note();
  new MutationObserver(note).observe(document.body, {childList: true, subtree: true});
}"""


def test_the_progress_bar_moves_and_ends_at_100(
    browser_page,
    live_server,
    stack,
    external,
    import_worker,
    alice,
    org_a,  # noqa: F811
):
    page = browser_page
    services.email_service_save(
        organization=org_a,
        name="External Provider",
        imap=Server(external.ip, 993),
        imap_security="tls",
        smtp=Server(external.ip, 465),
        smtp_tls=True,
    )
    user = external.add_user(f"browser-{alice.local_part}@external.test", EXT_PASSWORD)
    fill_many(external, user, "INBOX", TOTAL // 2)
    fill_many(external, user, "Archive", TOTAL // 2)

    page.goto(f"{live_server.url}/login/")
    page.fill('input[name="username"]', alice.address)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/portal/$"))
    page.click("text=External mailboxes")
    page.click("text=Connect a mailbox")
    page.select_option('select[name="service"]', label="External Provider")
    page.fill('input[name="login"]', user)
    page.fill('input[name="password"]', EXT_PASSWORD)
    page.click('button[value="connect"]')
    page.wait_for_url(re.compile(r"/portal/mailboxes/\d+/$"))
    page.evaluate(RECORD)

    page.wait_for_selector('#mailbox-progress[data-state="idle"]', timeout=90_000)
    assert page.get_attribute("#sync-bar", "value") == "100"
    seen = page.evaluate("window.seen")
    assert any(0 < value < 100 for value in seen), seen  # it moved while we watched
    assert seen == sorted(seen)  # never backwards
    block = page.inner_text("#mailbox-progress")
    assert "Up to date" in block
    assert f"{TOTAL} of {TOTAL}" in block and "2 of 2" in block
    assert ExternalMailbox.objects.get(login=user).messages_imported == TOTAL
