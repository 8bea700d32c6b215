"""Renewal of mailbox subscriptions at the end of each period (Celery beat, every 15 minutes).

A period that ends is paid from the credit for the next one. When the credit is short the
account is marked "Payment due" (owners get an email) and keeps working; it is tried again at
every run, and after the grace period (BILLING_GRACE_DAYS) it is deactivated for non-payment,
never deleted. Reactivating it (accounts.services.account_reactivate) pays a new period.
Each account renews in its own transaction, under the organization's row lock, and each
period's charge has a ledger reference, so two runs at once cannot charge a period twice."""

import logging
from datetime import datetime

from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from domains.billing import (
    InsufficientCredit,
    add_month,
    charge,
    format_eur,
    grace_period,
    lock_organization,
    midnight,
)
from domains.models import CreditEntry, Membership, Organization, Role
from tempusmail.audit import audit

from . import services
from .models import EmailAccount

log = logging.getLogger(__name__)
RENEWED, DUE, SUSPENDED, UNCHANGED = "renewed", "due", "suspended", "unchanged"


def due_accounts(now: datetime):
    return EmailAccount.objects.filter(
        renews_at__lte=now,
        deleting=False,
        suspended_for_payment=False,
        subscription__isnull=False,
    ).order_by("renews_at", "pk")


def renew_subscriptions(*, now: datetime | None = None, limit: int = 5000) -> dict[str, int]:
    """Renew every account whose period ended; return how many went which way."""
    now = now or timezone.now()
    counts = {RENEWED: 0, DUE: 0, SUSPENDED: 0, UNCHANGED: 0}
    for pk in list(due_accounts(now).values_list("pk", flat=True)[:limit]):
        counts[renew_account(account_id=pk, now=now)] += 1
    return counts


def renew_account(*, account_id: int, now: datetime) -> str:
    with transaction.atomic():
        org_id = (
            EmailAccount.objects.filter(pk=account_id)
            .values_list("organization_id", flat=True)
            .first()
        )
        if org_id is None:
            return UNCHANGED
        org = lock_organization(org_id)
        account = (
            due_accounts(now)
            .select_for_update(of=("self",))
            .select_related("subscription")
            .filter(pk=account_id)
        ).first()
        if account is None:  # renewed, deleted or suspended meanwhile
            return UNCHANGED
        outcome = UNCHANGED
        while account.renews_at is not None and account.renews_at <= now:
            if not _pay_next_period(org, account):
                outcome = _payment_failed(org, account, now)
                break
            outcome = RENEWED
        if outcome == RENEWED and account.payment_due_since is not None:
            account.payment_due_since = None
        account.save(
            update_fields=[
                "period_start",
                "period_end",
                "period_price",
                "renews_at",
                "payment_due_since",
            ]
        )
        if outcome == RENEWED:
            audit(action="account.renew", obj=account, fields=["period_end"])
        return outcome


def _pay_next_period(org: Organization, account: EmailAccount) -> bool:
    subscription = account.subscription
    start = account.period_end
    end = add_month(start, account.billing_day)
    reference = f"renewal:{account.pk}:{start.isoformat()}"
    if not CreditEntry.objects.filter(reference=reference).exists():
        try:
            with transaction.atomic():
                charge(
                    organization=org,
                    kind=CreditEntry.Kind.RENEWAL,
                    amount=subscription.monthly_price,
                    description=_("%(name)s, %(start)s – %(end)s")
                    % {"name": subscription.name, "start": start, "end": end},
                    refusal=_("Top up %(amount)s to renew this account."),
                    account_address=account.address,
                    reference=reference,
                )
        except InsufficientCredit:
            return False
    account.period_start, account.period_end = start, end
    account.period_price = subscription.monthly_price
    account.renews_at = midnight(org, end)
    return True


def _payment_failed(org: Organization, account: EmailAccount, now: datetime) -> str:
    price = format_eur(account.subscription.monthly_price)
    if account.payment_due_since is None:
        account.payment_due_since = account.renews_at
        audit(action="account.payment_due", obj=account, fields=["payment_due_since"])
        if account.payment_due_since + grace_period() > now:
            _notify_owners(
                org,
                _("Payment due: %(address)s") % {"address": account.address},
                _(
                    "The subscription %(name)s of %(address)s could not be renewed: it costs "
                    "%(price)s a month and the credit of %(organization)s is %(credit)s.\n"
                    "Top up the credit within %(days)d days, or the account will be "
                    "deactivated (it is not deleted).\n"
                )
                % {
                    "name": account.subscription.name,
                    "address": account.address,
                    "price": price,
                    "organization": org.name,
                    "credit": format_eur(org.credit),
                    "days": grace_period().days,
                },
            )
            return DUE
    if account.payment_due_since + grace_period() > now:
        return DUE
    services.account_suspend_for_payment(account=account)
    _notify_owners(
        org,
        _("Account deactivated for non-payment: %(address)s") % {"address": account.address},
        _(
            "%(address)s was deactivated: its subscription %(name)s (%(price)s a month) was "
            "not paid within %(days)d days. Nothing was deleted. Top up the credit of "
            "%(organization)s and reactivate the account to use it again.\n"
        )
        % {
            "address": account.address,
            "name": account.subscription.name,
            "price": price,
            "days": grace_period().days,
            "organization": org.name,
        },
    )
    return SUSPENDED


def _notify_owners(org: Organization, subject: str, body: str) -> None:
    """After commit: a mail server that is down must not undo the bookkeeping."""
    recipients = list(
        Membership.objects.filter(organization=org, role=Role.OWNER).values_list(
            "user__email", flat=True
        )
    )
    if not recipients:
        return

    def send() -> None:
        try:
            send_mail(subject, body, None, recipients)
        except Exception:  # noqa: BLE001 - logged; the account page shows "Payment due" too
            log.warning("could not email the owners of %s: %s", org.pk, subject, exc_info=True)

    transaction.on_commit(send)


@shared_task(name="accounts.renew_subscriptions")
def renew_subscriptions_task() -> dict[str, int]:
    return renew_subscriptions()
