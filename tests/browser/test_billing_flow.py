"""Headless Chromium through the money side as its users meet it: an owner creates a paid
account with too little credit (refused, the sum named), support staff top up in the Django
admin, the owner creates it from the same wizard, changes its subscription, deletes it, and
sees the refund on the statement."""

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest

from accounts.models import EmailAccount, User
from domains.models import CreditEntry, Organization, SubscriptionType
from tests.browser.conftest import SHOTS, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser]


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_paid_account_from_refusal_to_refund(
    django_db_setup, live_server, browser_page, settings, owner, org_a, domain_a
):
    settings.STAFF_REQUIRE_2FA = False
    pro = SubscriptionType.objects.create(
        name="Pro",
        monthly_price=Decimal("3.10"),
        storage_mb=5120,
        max_aliases=3,
        services=["imap", "smtp", "webmail"],
    )
    business = SubscriptionType.objects.create(
        name="Business",
        monthly_price=Decimal("6.50"),
        storage_mb=10240,
        max_aliases=10,
        services=["imap", "smtp", "webmail", "dav"],
    )
    staff = User.objects.create_superuser("support@provider.test", PASSWORD)
    page = browser_page

    # The owner walks the wizard with a paid subscription and no credit.
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/domains/{domain_a.pk}/accounts/new/?new=1")
    page.select_option('select[name="subscription"]', str(pro.pk))
    page.fill('input[name="first_name"]', "Carol")
    page.fill('input[name="local_part"]', "carol")
    page.fill('input[name="password"]', "Tr0ub4dor&3-horse")
    page.click('button[value="next"]')
    page.wait_for_selector("ol.steps li.current:has-text('Services')")
    assert page.input_value('select[name="quota_mb"]') == "5120"
    page.click('button[value="next"]')
    page.wait_for_selector("ol.steps li.current:has-text('Account security')")
    page.click('button[value="next"]')
    page.wait_for_selector("ol.steps li.current:has-text('Options')")
    page.click('button[value="create"]')
    page.wait_for_selector("text=Top up 3.10 € to create this account.")
    page.screenshot(path=f"{SHOTS}/tempusmail-billing-refused.png", full_page=True)
    assert not EmailAccount.objects.exists()

    # Support staff top up 10.00 € in the Django admin, in their own browser session.
    staff_page = page.context.browser.new_context().new_page()
    sign_in_staff(staff_page, live_server, staff)
    staff_page.goto(f"{live_server.url}/admin/domains/creditentry/add/")
    staff_page.select_option('select[name="organization"]', str(org_a.pk))
    staff_page.select_option('select[name="kind"]', "topup")
    staff_page.fill('input[name="amount"]', "10.00")
    staff_page.fill('input[name="description"]', "Bank transfer 2026-001")
    staff_page.click('input[name="_save"]')
    staff_page.wait_for_selector("text=was added successfully")
    assert Organization.objects.get(pk=org_a.pk).credit == Decimal("10.00")

    # Back in the wizard: the same Create now succeeds and charges the first month.
    page.click('button[value="create"]')
    page.wait_for_url(re.compile(rf"/domains/{domain_a.pk}/accounts/$"))
    assert "Email account carol@a.example created." in page.inner_text(".messages")
    account = EmailAccount.objects.get(address="carol@a.example")
    assert Organization.objects.get(pk=org_a.pk).credit == Decimal("6.90")  # 10.00 − 3.10

    # Change to Business: (6.50 − 3.10) × days left ÷ days of the period, today counted used.
    days = (account.period_end - account.period_start).days
    upgrade = cents(Decimal("3.40") * (days - 1) / days)
    page.goto(f"{live_server.url}/accounts/{account.pk}/subscription/")
    page.select_option('select[name="subscription"]', str(business.pk))
    page.click('button:has-text("Change subscription")')
    page.wait_for_selector(f"text=Subscription changed to Business: {upgrade} € charged.")
    page.screenshot(path=f"{SHOTS}/tempusmail-billing-changed.png", full_page=True)

    # Deactivate, then delete: the unused days of Business come back.
    refund = cents(Decimal("6.50") * (days - 1) / days)
    page.goto(f"{live_server.url}/domains/{domain_a.pk}/accounts/")
    page.click(f"#account-{account.pk} summary")
    page.click(f"#account-{account.pk} button:has-text('Deactivate')")
    page.wait_for_selector("text=carol@a.example deactivated.")
    page.click(f"#account-{account.pk} summary")
    page.click(f"#account-{account.pk} a:has-text('Delete')")
    page.click('button.danger:has-text("Delete")')
    page.wait_for_selector("text=carol@a.example is being deleted.")

    # The statement shows every line; the refund last, the balance to the cent.
    page.click("text=Organization")  # the overview first, then its Credit tab
    page.wait_for_selector("#status-counts")
    page.click("nav.tabs >> text=Credit")
    page.wait_for_selector("#statement")
    expected = Decimal("6.90") - upgrade + refund
    assert page.inner_text("#balance") == f"{expected} €"
    first_row = page.locator("#statement tbody tr").first
    assert first_row.get_attribute("data-kind") == "refund"
    assert f"{refund} €" in first_row.inner_text()
    page.screenshot(path=f"{SHOTS}/tempusmail-billing-statement.png", full_page=True)
    assert list(
        CreditEntry.objects.filter(organization=org_a).order_by("pk").values_list("kind", "amount")
    ) == [
        ("topup", Decimal("10.00")),
        ("charge", Decimal("-3.10")),
        ("charge", -upgrade),
        ("refund", refund),
    ]


def sign_in_staff(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill('input[name="username"]', user.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]:has-text("Sign in")')
    page.wait_for_load_state()
