"""The credit: owners see the balance and a paginated statement with a CSV export; staff top
up and adjust in the Django admin; the ledger is append-only and never goes below zero."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, transaction
from django.urls import reverse

from domains import billing
from domains.models import CreditEntry, Organization

from .conftest import balance, entries, fund

CREDIT = reverse("organization:credit")
CSV = reverse("organization:credit_csv")
ADD = reverse("admin:domains_creditentry_add")


def test_owner_sees_balance_and_statement(client_for, owner, org_a):
    fund(org_a, "25.00")
    billing.adjust(organization=org_a, amount=Decimal("-4.35"), description="Goodwill fix")
    body = client_for(owner).get(CREDIT).content.decode()
    assert 'id="balance">20.65 €<' in body
    assert "25.00 €" in body and "-4.35 €" in body and "Goodwill fix" in body


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_do_not_see_the_credit(client_for, request, role, org_a):
    client = client_for(request.getfixturevalue(role))
    assert client.get(CREDIT).status_code == 403
    assert client.get(CSV).status_code == 403


def test_another_organization_is_not_found(client_for, owner, org_a, org_b, admin_b):
    fund(org_b, "99.00")
    client = client_for(owner)
    for url in (CREDIT, CSV):
        response = client.get(url, {"org": org_b.pk})
        assert response.status_code == 404
        assert "99.00" not in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(CREDIT)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_statement_is_paginated_newest_first(client_for, owner, org_a):
    for n in range(1, 121):
        fund(org_a, f"{n}.00")
    client = client_for(owner)
    first = client.get(CREDIT).content.decode()
    assert first.count('data-kind="topup"') == 50
    assert "120.00 €" in first and "Page 1 of 3" in first
    last = client.get(CREDIT, {"page": 3}).content.decode()
    assert last.count('data-kind="topup"') == 20
    # 1 + 2 + ... + 120 = 7260
    assert 'id="balance">7260.00 €<' in last
    # The pager names every page and keeps the organization being shown.
    pager = first.split('class="pagination"')[1].split("</nav>")[0]
    assert '<span class="btn current" aria-current="page">1</span>' in pager
    assert f"?org={org_a.pk}&amp;page=2" in client.get(CREDIT, {"org": org_a.pk}).content.decode()
    assert ">3</a>" in pager and "Next" in pager


def test_csv_export_has_every_entry_to_the_cent(client_for, owner, org_a):
    fund(org_a, "10.00")
    billing.adjust(organization=org_a, amount=Decimal("-0.01"), description="=HYPERLINK(1)")
    response = client_for(owner).get(CSV)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["date", "kind", "description", "account", "amount_eur", "balance_eur", "by"]
    assert [r[1] for r in rows[1:]] == ["topup", "adjustment"]
    assert [(r[4], r[5]) for r in rows[1:]] == [("10.00", "10.00"), ("-0.01", "9.99")]
    # A description a spreadsheet would run as a formula is quoted.
    assert rows[2][2] == "'=HYPERLINK(1)"


# --- staff: the Django admin ----------------------------------------------------------------


def test_staff_tops_up_in_the_admin(staff_client, org_a):
    response = staff_client.post(
        ADD,
        {"organization": org_a.pk, "kind": "topup", "amount": "25.00", "description": "Wire"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert balance(org_a) == Decimal("25.00")
    entry = CreditEntry.objects.get(organization=org_a)
    assert (entry.kind, entry.amount, entry.balance_after) == (
        "topup",
        Decimal("25.00"),
        Decimal("25.00"),
    )
    assert entry.actor_email == "support@provider.test"


@pytest.mark.parametrize(
    ("kind", "amount", "description", "message"),
    [
        ("topup", "-5.00", "x", "Enter a positive amount."),
        ("topup", "abc", "x", "Enter an amount in euros"),
        ("topup", "1.234", "x", "at most two decimals"),
        ("topup", "NaN", "x", "at most two decimals"),
        ("topup", "0", "x", "Enter a positive amount."),
        ("topup", "1000000", "x", "At most 100000.00 €"),
        ("adjustment", "-30.00", "too much", "cannot go below zero"),
        ("adjustment", "-1.00", "", "Say why the balance is adjusted."),
    ],
)
def test_admin_refuses_bad_amounts_and_changes_nothing(
    staff_client, org_a, kind, amount, description, message
):
    fund(org_a, "25.00")
    response = staff_client.post(
        ADD,
        {"organization": org_a.pk, "kind": kind, "amount": amount, "description": description},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert balance(org_a) == Decimal("25.00")
    assert CreditEntry.objects.filter(organization=org_a).count() == 1


def test_staff_adjusts_either_way_with_a_reason(staff_client, org_a):
    fund(org_a, "25.00")
    for amount in ("-5.50", "2.25"):
        response = staff_client.post(
            ADD,
            {
                "organization": org_a.pk,
                "kind": "adjustment",
                "amount": amount,
                "description": "Correction",
            },
        )
        assert response.status_code == 302
    # 25.00 − 5.50 + 2.25 = 21.75
    assert entries(org_a) == [
        ("topup", Decimal("25.00"), Decimal("25.00")),
        ("adjustment", Decimal("-5.50"), Decimal("19.50")),
        ("adjustment", Decimal("2.25"), Decimal("21.75")),
    ]


def test_the_admin_cannot_change_or_delete_an_entry(staff_client, org_a):
    fund(org_a, "25.00")
    entry = CreditEntry.objects.get()
    change = reverse("admin:domains_creditentry_change", args=[entry.pk])
    staff_client.post(change, {"organization": org_a.pk, "kind": "topup", "amount": "99.00"})
    delete = reverse("admin:domains_creditentry_delete", args=[entry.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.amount == Decimal("25.00") and balance(org_a) == Decimal("25.00")


# --- the ledger's guarantees -----------------------------------------------------------------


def test_the_database_refuses_to_rewrite_the_ledger(org_a):
    fund(org_a, "25.00")
    with pytest.raises((IntegrityError, InternalError, ProgrammingError)), transaction.atomic():
        CreditEntry.objects.update(amount=Decimal("1000.00"))
    assert CreditEntry.objects.get().amount == Decimal("25.00")
    with pytest.raises(Exception, match="append-only"):
        CreditEntry.objects.get().save()


def test_the_database_refuses_a_negative_balance(org_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=org_a.pk).update(credit=Decimal("-0.01"))


def test_a_charge_larger_than_the_balance_names_what_is_missing(org_a):
    fund(org_a, "1.00")
    with pytest.raises(billing.InsufficientCredit) as refused, transaction.atomic():
        org = billing.lock_organization(org_a.pk)
        billing.charge(
            organization=org, amount=Decimal("3.40"), description="x", refusal="Top up %(amount)s"
        )
    assert refused.value.messages == ["Top up 2.40 €"]
    assert balance(org_a) == Decimal("1.00")


@pytest.mark.parametrize(
    ("price", "start", "end", "today", "expected"),
    [
        # 3.10 € × 21 days left of 31 = 2.10 €
        ("3.10", (2026, 3, 1), (2026, 4, 1), (2026, 3, 10), "2.10"),
        # 6.50 € × 21 / 31 = 4.403225… → 4.40 €
        ("6.50", (2026, 3, 1), (2026, 4, 1), (2026, 3, 10), "4.40"),
        # 0.05 € × 3 / 30 = 0.005 → 0.01 € (half up; banker's rounding would give 0.00)
        ("0.05", (2026, 4, 1), (2026, 5, 1), (2026, 4, 27), "0.01"),
        # the last day of the period: nothing left
        ("3.10", (2026, 3, 1), (2026, 4, 1), (2026, 3, 31), "0.00"),
        # the first day counts as used: 30 of 31 days left
        ("3.10", (2026, 3, 1), (2026, 4, 1), (2026, 3, 1), "3.00"),
    ],
)
def test_proration_formula(price, start, end, today, expected):
    period = billing.Period(start=date(*start), end=date(*end))
    assert billing.prorate(Decimal(price), period, date(*today)) == Decimal(expected)


def test_months_keep_their_anchor_day():
    assert billing.add_month(date(2026, 1, 31), 31) == date(2026, 2, 28)
    assert billing.add_month(date(2026, 2, 28), 31) == date(2026, 3, 31)
    assert billing.add_month(date(2026, 12, 15), 15) == date(2027, 1, 15)
