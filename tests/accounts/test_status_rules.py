"""One set of status rules: the account's badge (EmailAccount.status), the account list's row
(read from plain values), the admin's status filter and the overview's counts agree on every
combination of the four facts a status depends on."""

import itertools

import pytest
from django.test import Client
from django.urls import reverse

from accounts.dashboard import status_counts
from accounts.models import EmailAccount, status_conditions
from domains.models import Domain, Verification

FACTS = list(itertools.product([False, True], repeat=4))  # deleting, verified, applied, active


def expected(deleting: bool, verified: bool, applied: bool, active: bool) -> str:
    if deleting:
        return "updating"
    if not verified:
        return "waiting"
    if not applied:
        return "updating"
    return "online" if active else "offline"


@pytest.mark.parametrize(("deleting", "verified", "applied", "active"), FACTS)
def test_badge_filter_and_counts_agree(
    deleting, verified, applied, active, account_a, org_a, owner, staff_client
):
    Domain.objects.filter(pk=account_a.domain_id).update(
        verification=Verification.VERIFIED if verified else Verification.PENDING
    )
    version = account_a.desired_version
    EmailAccount.objects.filter(pk=account_a.pk).update(
        deleting=deleting, is_active=active, applied_version=version if applied else version - 1
    )
    account = EmailAccount.objects.select_related("domain").get(pk=account_a.pk)
    want = expected(deleting, verified, applied, active)

    assert account.status == want
    matching = [
        status
        for status, condition in status_conditions().items()
        if EmailAccount.objects.filter(pk=account.pk).filter(condition).exists()
    ]
    assert matching == [want]
    as_owner = Client()
    as_owner.force_login(owner)
    rows = as_owner.get(reverse("accounts:list", args=[account.domain_id]))
    assert f'<tr id="account-{account.pk}" data-status="{want}"' in rows.content.decode()
    assert {status: count for status, _label, count in status_counts(org_a)}[want] == 1
    listed = staff_client.get("/admin/accounts/emailaccount/", {"status": want})
    assert listed.status_code == 200
    assert account.address in listed.content.decode()
    other = next(s for s in ("online", "offline") if s != want)
    assert (
        account.address
        not in staff_client.get("/admin/accounts/emailaccount/", {"status": other}).content.decode()
    )
