"""The organization's overview (issue 15): accounts by status, storage per domain, messages
sent per day, accounts near their quota, pending domains and failed pushes. A fixed number of
queries whatever the organization's size; the charts are SVG drawn on the server."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, FloatField, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from domains.models import Domain, DomainSentDay, Organization, Verification
from tempusmail.models import Status

from .models import EmailAccount, Group, status_conditions

DAYS = 30
NEAR_QUOTA = 0.9  # used / capacity from which an account is listed as nearly full
LISTED = 10  # rows of each list on the page

CHART_WIDTH, CHART_HEIGHT = 600, 160


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


def status_counts(organization: Organization) -> list[tuple[str, str, int]]:
    """(status, label, count) in the order the account list shows them; the same rules as
    EmailAccount.status, counted in one query."""
    conditions = status_conditions()
    counts = EmailAccount.objects.filter(organization=organization).aggregate(
        **{status: Count("pk", filter=condition) for status, condition in conditions.items()}
    )
    order = (Status.ONLINE, Status.UPDATING, Status.OFFLINE, Status.WAITING)
    return [(s.value, s.label, counts[s.value]) for s in order]


def storage_per_domain(organization: Organization) -> list[dict]:
    """Each domain's used and allotted storage, fullest first."""
    rows = (
        Domain.objects.filter(organization=organization)
        .annotate(
            used=Sum("accounts__storage_used_bytes", default=0),
            capacity_mb=Sum("accounts__quota_mb", default=0),
        )
        .order_by("-used", "name")
        .values("pk", "name", "used", "capacity_mb")
    )
    result = []
    for row in rows:
        capacity = row["capacity_mb"] * 1024 * 1024
        percent = min(100, round(100 * row["used"] / capacity)) if capacity else 0
        result.append({**row, "capacity": capacity, "percent": percent})
    return result


def sent_chart(organization: Organization, *, today=None) -> dict:
    """Messages sent per day over the last DAYS days (UTC), as bars of an SVG chart."""
    today = today or timezone.now().date()
    first = today - timedelta(days=DAYS - 1)
    per_day = dict(
        DomainSentDay.objects.filter(domain__organization=organization, day__gte=first)
        .values("day")
        .annotate(total=Sum("count"))
        .values_list("day", "total")
    )
    days = [first + timedelta(days=n) for n in range(DAYS)]
    values = [per_day.get(day, 0) for day in days]
    top = max(values) or 1
    slot = CHART_WIDTH / DAYS
    bars = []
    for n, (day, value) in enumerate(zip(days, values, strict=True)):
        height = round((CHART_HEIGHT - 20) * value / top, 1)
        bars.append(
            Bar(
                x=round(n * slot + 1, 1),
                y=round(CHART_HEIGHT - 20 - height, 1),
                width=round(slot - 2, 1),
                height=height,
                label=day.isoformat(),
                value=value,
            )
        )
    return {
        "bars": bars,
        "total": sum(values),
        "top": max(values),
        "first": first,
        "last": today,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "base": CHART_HEIGHT - 20,
    }


def near_quota(organization: Organization) -> list[EmailAccount]:
    """The fullest accounts at or above NEAR_QUOTA of their capacity."""
    return list(
        EmailAccount.objects.filter(organization=organization, deleting=False, quota_mb__gt=0)
        .filter(
            # In bigint: a capacity of 2,276 MB and more is past int4 in bytes.
            storage_used_bytes__gte=Cast("quota_mb", BigIntegerField())
            * int(1024 * 1024 * NEAR_QUOTA)
        )
        .annotate(
            fill=ExpressionWrapper(
                F("storage_used_bytes") * 1.0 / F("quota_mb"), output_field=FloatField()
            )
        )
        .select_related("domain")
        .order_by("-fill", "address")[:LISTED]
    )


def pending_domains(organization: Organization) -> list[Domain]:
    return list(
        Domain.objects.filter(organization=organization)
        .exclude(verification=Verification.VERIFIED)
        .order_by("name")[:LISTED]
    )


def failed_pushes(organization: Organization) -> dict:
    """What the mail system refused last: accounts, groups and domains with an error."""
    accounts = (
        EmailAccount.objects.filter(organization=organization)
        .exclude(last_error="")
        .select_related("domain")
        .order_by("-last_error_at", "address")
    )
    return {
        "accounts": list(accounts[:LISTED]),
        "groups": list(
            Group.objects.filter(organization=organization)
            .exclude(last_error="")
            .order_by("address")[:LISTED]
        ),
        "domains": list(
            Domain.objects.filter(organization=organization)
            .exclude(last_error="")
            .order_by("name")[:LISTED]
        ),
    }


def status_segments(statuses: list[tuple[str, str, int]]) -> list[dict]:
    """The statuses as consecutive segments of one CHART_WIDTH-wide bar."""
    total = sum(count for _s, _l, count in statuses)
    segments, x = [], 0.0
    for status, label, count in statuses:
        if count:
            width = CHART_WIDTH * count / total
            segments.append(
                {
                    "status": status,
                    "label": label,
                    "count": count,
                    "x": round(x, 1),
                    "width": round(width, 1),
                }
            )
            x += width
    return segments


def overview(organization: Organization) -> dict:
    statuses = status_counts(organization)
    return {
        "statuses": statuses,
        "status_segments": status_segments(statuses),
        "total_accounts": sum(count for _s, _l, count in statuses),
        "storage": storage_per_domain(organization),
        "sent": sent_chart(organization),
        "near_quota": near_quota(organization),
        "pending_domains": pending_domains(organization),
        "failed": failed_pushes(organization),
    }
