"""The mailbox side of billing, used inside the services' transactions after they locked the
organization's row (domains.billing.lock_organization): opening a paid period, refunding the
unused part, the prorated price of a change, and the limits a subscription sets."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from domains.billing import (
    Period,
    charge,
    give_back,
    local_today,
    midnight,
    period_from,
    prorate,
    remaining_days,
)
from domains.models import CreditEntry, Organization, SubscriptionType

from .models import EmailAccount


def offered_subscriptions() -> QuerySet[SubscriptionType]:
    return SubscriptionType.objects.filter(is_active=True)


def free_accounts(organization: Organization) -> QuerySet[EmailAccount]:
    """Accounts with a zero-price subscription. Accounts without any (the provider offers no
    subscriptions, or they predate them) are limited by max_accounts alone."""
    return EmailAccount.objects.filter(organization=organization, subscription__monthly_price=0)


def check_free_limit(
    *, organization: Organization, subscription: SubscriptionType | None, exclude_pk=None
) -> None:
    if subscription is None or not subscription.is_free:
        return
    limit = organization.plan.max_free_accounts
    if free_accounts(organization).exclude(pk=exclude_pk).count() >= limit:
        raise ValidationError(
            {"subscription": _("Your plan allows at most %(max)d free accounts.") % {"max": limit}}
        )


def check_alias_limit(*, subscription: SubscriptionType | None, count: int) -> None:
    """`count` aliases after the change; accounts without a subscription are not limited."""
    if subscription is not None and count > subscription.max_aliases:
        raise ValidationError(
            {
                "aliases": _("The subscription %(name)s allows at most %(max)d aliases.")
                % {"name": subscription.name, "max": subscription.max_aliases}
            }
        )


def current_period(account: EmailAccount) -> Period | None:
    if account.period_start is None or account.period_end is None:
        return None
    return Period(start=account.period_start, end=account.period_end)


def start_period(
    *,
    organization: Organization,
    account: EmailAccount,
    subscription: SubscriptionType,
    now: datetime,
    refusal: str,
) -> CreditEntry | None:
    """Charge a whole month from today (local) and set the account's period fields (the caller
    saves them). Refused with `refusal` naming the missing sum when the credit is short."""
    today = local_today(organization, now)
    period = period_from(today)
    entry = charge(
        organization=organization,
        amount=subscription.monthly_price,
        description=_("%(name)s, %(start)s – %(end)s")
        % {"name": subscription.name, "start": period.start, "end": period.end},
        refusal=refusal,
        account_address=account.address,
    )
    account.subscription = subscription
    account.period_start, account.period_end = period.start, period.end
    account.period_price = subscription.monthly_price
    account.billing_day = today.day
    account.renews_at = midnight(organization, period.end)
    account.payment_due_since = None
    account.suspended_for_payment = False
    return entry


PERIOD_FIELDS = [
    "subscription",
    "period_start",
    "period_end",
    "period_price",
    "billing_day",
    "renews_at",
    "payment_due_since",
    "suspended_for_payment",
]


def refund_unused(
    *, organization: Organization, account: EmailAccount, now: datetime
) -> CreditEntry | None:
    """Give back the unused days of the current period, once per period (the ledger's
    reference), and end the period on the account (the caller saves PERIOD_FIELDS)."""
    period = current_period(account)
    if account.subscription_id is None or period is None:
        return None
    amount = prorate(account.period_price, period, local_today(organization, now))
    entry = give_back(
        organization=organization,
        amount=amount,
        description=_("Unused part of %(name)s until %(end)s")
        % {"name": account.subscription.name, "end": period.end},
        account_address=account.address,
        reference=f"refund:{account.pk}:{period.start.isoformat()}",
    )
    account.period_end = account.period_start
    account.renews_at = None
    return entry


@dataclass(frozen=True)
class Change:
    """What changing subscription does to the credit now: charge > 0, refund < 0, 0 nothing."""

    amount: Decimal
    remaining_days: int
    period_days: int


def change_amount(
    *, organization: Organization, account: EmailAccount, new: SubscriptionType, now: datetime
) -> Change:
    """(new price − price paid) × remaining days ÷ period days, rounded once to the cent."""
    period = current_period(account)
    if account.subscription_id is None or period is None:
        return Change(amount=new.monthly_price, remaining_days=0, period_days=0)
    today = local_today(organization, now)
    diff = new.monthly_price - account.period_price
    amount = prorate(abs(diff), period, today)
    return Change(
        amount=amount if diff >= 0 else -amount,
        remaining_days=remaining_days(period, today),
        period_days=period.days,
    )
