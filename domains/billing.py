"""The organization's money: the credit ledger, subscription periods and their proration,
and the payment provider's webhook (docs/billing.md).

Money is Decimal euros, quantized to cents with ROUND_HALF_UP once per amount. Every entry is
written inside the caller's transaction with the organization's row locked, so the balance it
checks is the balance it writes; the balance can never go below zero (checked here and by the
database)."""

import calendar
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from tempusmail.audit import audit, current_actor

from .models import CreditEntry, Organization

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("100000.00")  # one top-up, adjustment or payment


def cents(value: Decimal) -> Decimal:
    """The one rounding rule: to the cent, halves away from zero."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_eur(amount: Decimal) -> str:
    """ "3.40 €" (in Italian "3,40 €"): always two decimals, no grouping."""
    return f"{formats.number_format(cents(amount), 2)} €"


def parse_amount(value, *, allow_negative: bool = False) -> Decimal:
    """A typed amount: a number with at most two decimals, not zero, within MAX_AMOUNT."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter an amount in euros, e.g. 10.00.")) from None
    if not amount.is_finite() or amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValidationError(_("Enter an amount in euros with at most two decimals."))
    if amount == 0 or (amount < 0 and not allow_negative):
        raise ValidationError(
            _("Enter a non-zero amount.") if allow_negative else _("Enter a positive amount.")
        )
    if abs(amount) > MAX_AMOUNT:
        raise ValidationError(_("At most %(max)s at a time.") % {"max": format_eur(MAX_AMOUNT)})
    return cents(amount)


class InsufficientCredit(ValidationError):
    """A charge the balance cannot pay; `missing` is what a top-up must add."""

    def __init__(self, message: str, *, missing: Decimal) -> None:
        super().__init__(message)
        self.missing = missing


# --- the ledger ----------------------------------------------------------------------------


def lock_organization(organization_id: int) -> Organization:
    """The organization's row, locked until the transaction ends: every spend and every
    limit check serializes on it (two requests cannot both spend the last euro)."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_organization() needs a transaction")
    return Organization.objects.select_for_update().select_related("plan").get(pk=organization_id)


def _who() -> str:
    actor = current_actor()
    user = actor.who() if actor else None
    return getattr(user, "email", "") or ""


def _append(
    *,
    organization: Organization,
    kind: str,
    amount: Decimal,
    description: str,
    account_address: str = "",
    reference: str | None = None,
) -> CreditEntry:
    if not connection.in_atomic_block:
        raise RuntimeError("ledger entries are written inside the caller's transaction")
    amount = cents(amount)
    balance = cents(organization.credit + amount)
    if balance < 0:
        raise InsufficientCredit(
            _("The credit is not sufficient: top up %(amount)s.")
            % {"amount": format_eur(-balance)},
            missing=-balance,
        )
    entry = CreditEntry.objects.create(
        organization=organization,
        kind=kind,
        amount=amount,
        balance_after=balance,
        description=description[:300],
        account_address=account_address[:320],
        actor_email=_who(),
        reference=reference,
    )
    Organization.objects.filter(pk=organization.pk).update(credit=balance)
    organization.credit = balance
    return entry


def charge(
    *,
    organization: Organization,
    amount: Decimal,
    description: str,
    refusal: str,
    kind: str = CreditEntry.Kind.CHARGE,
    account_address: str = "",
    reference: str | None = None,
) -> CreditEntry | None:
    """Take `amount` from the (locked) organization's credit, or refuse with `refusal`, whose
    %(amount)s is the sum missing. A zero amount writes nothing."""
    amount = cents(amount)
    if amount < 0:
        raise ValueError("a charge is not negative")
    if amount == 0:
        return None
    if organization.credit < amount:
        missing = amount - organization.credit
        raise InsufficientCredit(refusal % {"amount": format_eur(missing)}, missing=missing)
    return _append(
        organization=organization,
        kind=kind,
        amount=-amount,
        description=description,
        account_address=account_address,
        reference=reference,
    )


def give_back(
    *,
    organization: Organization,
    amount: Decimal,
    description: str,
    account_address: str = "",
    reference: str | None = None,
) -> CreditEntry | None:
    """A refund to the (locked) organization. With a reference it happens at most once: a
    second refund of the same thing writes nothing and returns None."""
    amount = cents(amount)
    if amount < 0:
        raise ValueError("a refund is not negative")
    if amount == 0:
        return None
    if reference and CreditEntry.objects.filter(reference=reference).exists():
        return None
    return _append(
        organization=organization,
        kind=CreditEntry.Kind.REFUND,
        amount=amount,
        description=description,
        account_address=account_address,
        reference=reference,
    )


def top_up(*, organization: Organization, amount: Decimal, description: str) -> CreditEntry:
    """Staff add credit (the Django admin)."""
    if amount <= 0:
        raise ValidationError(_("A top-up must be a positive amount."))
    with transaction.atomic():
        org = lock_organization(organization.pk)
        entry = _append(
            organization=org,
            kind=CreditEntry.Kind.TOPUP,
            amount=amount,
            description=description or _("Top-up"),
        )
        audit(action="credit.topup", obj=org, fields=["credit"])
    organization.credit = org.credit
    return entry


def adjust(*, organization: Organization, amount: Decimal, description: str) -> CreditEntry:
    """Staff correct the balance either way, with a reason; never below zero."""
    if amount == 0:
        raise ValidationError(_("An adjustment must not be zero."))
    if not (description or "").strip():
        raise ValidationError(_("Say why the balance is adjusted."))
    with transaction.atomic():
        org = lock_organization(organization.pk)
        if org.credit + amount < 0:
            raise ValidationError(
                _("The balance is %(balance)s: it cannot go below zero.")
                % {"balance": format_eur(org.credit)}
            )
        entry = _append(
            organization=org,
            kind=CreditEntry.Kind.ADJUSTMENT,
            amount=amount,
            description=description,
        )
        audit(action="credit.adjust", obj=org, fields=["credit"])
    organization.credit = org.credit
    return entry


# --- periods and proration -----------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A billing period [start, end) in the organization's calendar: from midnight of `start`
    to midnight of `end`, local time."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def zone(organization: Organization) -> ZoneInfo:
    try:
        return ZoneInfo(organization.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(organization: Organization, now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), zone(organization)).date()


def midnight(organization: Organization, day: date) -> datetime:
    """The instant a local day begins (renewals are due then)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone(organization))


def add_month(day: date, anchor: int) -> date:
    """The next month's `anchor` day, or its last day if shorter (Jan 31 → Feb 28 → Mar 31)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(anchor, calendar.monthrange(year, month)[1]))


def period_from(start: date, anchor: int | None = None) -> Period:
    return Period(start=start, end=add_month(start, anchor or start.day))


def remaining_days(period: Period, today: date) -> int:
    """Whole days of the period after today: today counts as used."""
    return max(0, min(period.days, (period.end - today).days - 1))


def prorate(monthly_price: Decimal, period: Period, today: date) -> Decimal:
    """The value of the rest of the period: price × remaining days ÷ days in the period."""
    if period.days <= 0:
        return Decimal("0.00")
    return cents(Decimal(monthly_price) * remaining_days(period, today) / period.days)


# --- the payment provider's webhook ---------------------------------------------------------


class WebhookRefused(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def sign_webhook(body: bytes, *, secret: str, timestamp: int | None = None) -> str:
    """The signature header a provider sends: "t=<unix time>,v1=<hex HMAC-SHA256 of
    '<t>.<body>'>". Tests and integrations make it with this function."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def verify_webhook(body: bytes, header: str) -> None:
    """Authentic and recent, or WebhookRefused: a forged body fails the HMAC, an old replay
    fails the time window (a recent replay is caught by the payment id)."""
    secret = settings.BILLING_WEBHOOK_SECRET
    if not secret:
        raise WebhookRefused("the payment webhook is not configured", status=503)
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    try:
        stamp = int(parts.get("t", ""))
    except ValueError:
        raise WebhookRefused("missing or malformed signature", status=401) from None
    expected = sign_webhook(body, secret=secret, timestamp=stamp).rsplit("v1=", 1)[1]
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise WebhookRefused("signature does not match", status=401)
    if abs(time.time() - stamp) > settings.BILLING_WEBHOOK_TOLERANCE:
        raise WebhookRefused("signature timestamp outside the accepted window", status=401)


def record_payment(*, body: bytes, signature: str) -> tuple[CreditEntry, bool]:
    """A verified payment tops up its organization once per payment id; (entry, created)."""
    verify_webhook(body, signature)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("the body is not JSON") from None
    if not isinstance(data, dict):
        raise WebhookRefused("the body is not a JSON object")
    payment_id = data.get("payment_id")
    if not isinstance(payment_id, str) or not 1 <= len(payment_id) <= 150:
        raise WebhookRefused("payment_id must be a string of 1 to 150 characters")
    if data.get("currency") != "EUR":
        raise WebhookRefused("currency must be EUR")
    if not isinstance(data.get("amount"), str):
        raise WebhookRefused('amount must be a string such as "10.00"')
    try:
        amount = parse_amount(data["amount"])
    except ValidationError as error:
        raise WebhookRefused(f"amount: {error.messages[0]}") from None
    org_id = data.get("organization")
    if not isinstance(org_id, int) or isinstance(org_id, bool):
        raise WebhookRefused("organization must be an organization id")
    reference = f"payment:{payment_id}"
    with transaction.atomic():
        if not Organization.objects.filter(pk=org_id).exists():
            raise WebhookRefused("unknown organization", status=404)
        org = lock_organization(org_id)
        held = CreditEntry.objects.filter(reference=reference).first()
        if held is not None:
            if held.organization_id != org_id or held.amount != amount:
                raise WebhookRefused("this payment id was recorded with other details", 409)
            return held, False
        try:
            with transaction.atomic():
                entry = _append(
                    organization=org,
                    kind=CreditEntry.Kind.TOPUP,
                    amount=amount,
                    description=f"Payment {payment_id}",
                    reference=reference,
                )
        except IntegrityError:  # the same payment id, recorded for another organization
            raise WebhookRefused("this payment id was recorded with other details", 409) from None
        audit(action="credit.payment", obj=org, fields=["credit"])
    return entry, True


def _cell(text: str) -> str:
    """Text a spreadsheet would run as a formula starts with a quote instead."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def statement_rows(organization: Organization, entries) -> list[list[str]]:
    """The statement as CSV rows: local times, amounts with a dot as spreadsheets expect."""
    tz = zone(organization)
    rows = [["date", "kind", "description", "account", "amount_eur", "balance_eur", "by"]]
    for e in entries:
        rows.append(
            [
                e.created_at.astimezone(tz).isoformat(timespec="seconds"),
                e.kind,
                _cell(e.description),
                _cell(e.account_address),
                f"{e.amount:.2f}",
                f"{e.balance_after:.2f}",
                _cell(e.actor_email),
            ]
        )
    return rows


def grace_period() -> timedelta:
    return timedelta(days=settings.BILLING_GRACE_DAYS)
