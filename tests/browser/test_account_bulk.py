"""Bulk work in a browser (issue 15): select all accounts matching a search, change their
storage, watch the job reach 100 % and the rows turn Online; import a CSV file with two bad
rows and read their errors in the preview, then import the good one."""

import re

import pytest

from accounts.models import EmailAccount
from tests.browser.conftest import SHOTS, sign_in
from tests.conftest import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.worker]

CSV = (
    "address,first_name,last_name,password,storage_mb,services\n"
    "newbie,Nina,Nuova,Tramonto-Lago-42!,1024,imap smtp\n"
    "bad address!,Bad,Row,Tramonto-Lago-42!,1024,imap\n"
    "storage,Too,Big,Tramonto-Lago-42!,999999,imap\n"
)


def test_bulk_storage_change_then_csv_import_with_errors(
    django_db_setup,
    live_server,
    browser_page,
    start_worker,
    owner,
    domain_a,
    plan,
    make_account,
    tmp_path,
):
    plan.max_accounts = 50
    plan.save()
    page = browser_page
    gate = tmp_path / "gate"  # pushes wait while it exists
    start_worker(
        concurrency=2,
        env={
            "MAIL_BACKEND": "tests.accounts.failing_backend.GatedBackend",
            "GATED_BACKEND_FLAG": str(gate),
        },
    )
    team = [make_account(domain_a, f"team{n}") for n in range(4)]
    other = make_account(domain_a, "zed")
    wait_until(
        lambda: all(a.status == "online" for a in EmailAccount.objects.select_related("domain")),
        what="every account Online",
    )

    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/domains/{domain_a.pk}/accounts/?q=team")
    assert page.inner_text(".bulk-all").strip() == "Select all 4 accounts matching this search"
    page.check("input[name='all']")
    page.select_option("select[name='action']", "storage")
    page.select_option("select[name='quota_mb']", "5120")
    gate.touch()  # the pushes wait: the rows stay Updating until the test lets go
    page.click("button:has-text('Apply')")

    page.wait_for_url(re.compile(r"\?q=team&job=\d+$"))
    page.wait_for_selector(".job-progress[data-state='done']", timeout=30_000)
    assert page.inner_text(".job-percent") == "100%"
    assert "4 done, 0 failed, 4 in all" in page.inner_text(".job-counts")
    for account in team:
        row = f"#account-{account.pk}"
        assert page.get_attribute(row, "data-status") == "updating"
        assert "5.0\xa0GB" in page.inner_text(f"{row} td.num")
    page.screenshot(path=f"{SHOTS}/tempusmail-bulk-progress.png")
    gate.unlink()
    for account in team:
        page.wait_for_selector(f"#account-{account.pk}[data-status='online']", timeout=30_000)
    assert EmailAccount.objects.get(pk=other.pk).quota_mb == 1024

    page.click("a:has-text('Import CSV')")
    page.set_input_files(
        "input[name='file']",
        files=[{"name": "team.csv", "mimeType": "text/csv", "buffer": CSV.encode()}],
    )
    page.click("button:has-text('Check the file')")
    page.wait_for_url(re.compile(r"/accounts/jobs/\d+/$"))
    counts = page.inner_text(".import-counts")
    assert "1 to create" in counts and "2 with errors" in counts
    line3 = page.inner_text("tr.row-error[data-line='3']")
    assert "address" in line3 and "Use letters, digits" in line3
    line4 = page.inner_text("tr.row-error[data-line='4']")
    assert "storage_mb" in line4 and "storage capacities" in line4
    page.screenshot(path=f"{SHOTS}/tempusmail-import-preview.png")
    assert not EmailAccount.objects.filter(local_part="newbie").exists()

    page.click("button:has-text('Import 1 row')")
    page.wait_for_selector(".job-progress[data-state='done']", timeout=30_000)
    assert "1 done, 0 failed, 1 in all" in page.inner_text(".job-counts")
    newbie = EmailAccount.objects.get(local_part="newbie")
    page.wait_for_selector(f"#account-{newbie.pk}[data-status='online']", timeout=30_000)
