"""The worker side of domains: push the desired state, record it applied; check DNS health."""

from datetime import UTC, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tempusmail.mailbackend import DkimKey, DomainState, get_backend
from tempusmail.provisioning import mark_applied

from . import dkim, dns
from .models import DnsCheck, Domain, DomainSentDay, Membership, Role, Verification

# Addresses every domain has without any account: abuse@ goes to the provider; the others go
# to the organization's owner until an account (or an account's alias) takes them over.
ABUSE_LOCAL_PART = "abuse"
OWNER_LOCAL_PARTS = ("postmaster", "support")


def default_aliases(domain: Domain) -> tuple[tuple[str, str], ...]:
    """(address, target) rows the mail system uses when no mailbox or alias holds the
    address. Without an owner, postmaster@ and support@ go to the provider as abuse@ does."""
    owner = (
        Membership.objects.filter(organization_id=domain.organization_id, role=Role.OWNER)
        .order_by("pk")
        .values_list("user__email", flat=True)
        .first()
    )
    abuse = settings.PLATFORM_ABUSE_ADDRESS.strip().lower()
    targets = {ABUSE_LOCAL_PART: abuse}
    targets.update({local: (owner or abuse).strip().lower() for local in OWNER_LOCAL_PARTS})
    rows = []
    for local, target in targets.items():
        address = f"{local}@{domain.name}"
        if target and target != address:
            rows.append((address, target))
    return tuple(sorted(rows))


def domain_state(domain: Domain) -> DomainState:
    keys = tuple(
        DkimKey(
            selector=key.selector,
            private_key_pem=dkim.private_key_pem(key.private_key),
            active=key.active,
        )
        for key in domain.dkim_keys.order_by("-active", "selector")
    )
    return DomainState(
        name=domain.name,
        active=True,
        version=domain.desired_version,
        dkim_keys=keys,
        default_aliases=default_aliases(domain),
    )


def domain_push(*, domain_id: int) -> None:
    """Push a verified domain's full state; a pending domain reaches nothing."""
    domain = Domain.objects.filter(pk=domain_id).first()
    if domain is None or not domain.is_verified:
        return
    state = domain_state(domain)
    get_backend().apply_domain(state)
    mark_applied(Domain, pk=domain.pk, version=state.version)


def domain_remove(*, name: str) -> None:
    """Remove the name from the mail system unless another claim on it is verified (a pending
    claim being deleted never reached it; the verified owner's domain must stay)."""
    if not Domain.objects.filter(name=name, verification=Verification.VERIFIED).exists():
        get_backend().remove_domain(name)


def dns_check_run(*, domain_id: int) -> None:
    """Ask DNS for every record the domain should publish; store the judged answers."""
    domain = Domain.objects.filter(pk=domain_id).first()
    if domain is None:
        return
    results = dns.check_health(domain, list(domain.dkim_keys.all()))
    DnsCheck.objects.update_or_create(
        domain=domain, defaults={"checked_at": timezone.now(), "results": results}
    )


def domains_due_for_health(*, limit: int = 500) -> list[int]:
    """Verified domains whose last DNS check is older than DNS_HEALTH_INTERVAL."""
    cutoff = timezone.now() - timedelta(seconds=settings.DNS_HEALTH_INTERVAL)
    due = Q(dns_check__isnull=True) | Q(dns_check__checked_at__isnull=True)
    due |= Q(dns_check__checked_at__lt=cutoff)
    verified = Domain.objects.filter(verification=Verification.VERIFIED).filter(due)
    return list(verified.order_by("pk").values_list("pk", flat=True)[:limit])


def collect_sent_days(*, days: int = 2) -> int:
    """Copy the last `days` days' sending counters of every verified domain into the panel
    (today's keeps growing; yesterday's settles after midnight). Unknown (the counters could
    not be read) leaves the rows as they were."""
    today = timezone.now().astimezone(UTC).date()
    wanted = [today - timedelta(days=n) for n in range(days)]
    domains = dict(
        Domain.objects.filter(verification=Verification.VERIFIED).values_list("name", "pk")
    )
    counts = get_backend().sent_per_day(list(domains), wanted)
    if counts is None:
        return 0
    rows = [
        DomainSentDay(domain_id=domains[name], day=day, count=count)
        for (name, day), count in counts.items()
    ]
    DomainSentDay.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["domain", "day"],
        update_fields=["count"],
    )
    return len(rows)
