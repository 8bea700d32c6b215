"""Who owns a name: a claim is verified when DNS shows its token (or staff vouch for it).

The first organization to verify a name gets it; the other organizations' pending claims on it
are removed, with a notice to them. What must follow a verification (the domain's push and DNS
check, its accounts' pushes) is registered by the apps that own those tasks (domains.apps,
accounts.apps): this module enqueues nothing itself, so the tasks can call it.
"""

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tempusmail.audit import Actor, audit, reset_actor, set_actor

from . import dns
from .models import CheckResult, ClaimNotice, Domain, Verification

_followers: list[Callable[..., None]] = []


def on_domain_verified(follower: Callable[..., None]) -> None:
    """Register follower(domain=...): it runs inside the verifying transaction."""
    if follower not in _followers:
        _followers.append(follower)


def domain_verify_now(*, domain: Domain) -> str:
    """Ask DNS for the claim's ownership record, record what it answered, and verify the
    domain when the record holds this claim's token. Returns the CheckResult."""
    if domain.is_verified:
        return CheckResult.FOUND
    result, found = dns.check_ownership(domain)
    values = {
        "verification_checked_at": timezone.now(),
        "verification_result": result,
        "verification_answer": "\n".join(found)[:2000],
    }
    Domain.objects.filter(pk=domain.pk).update(**values)
    for name, value in values.items():
        setattr(domain, name, value)
    if result == CheckResult.FOUND:
        domain_mark_verified(domain=domain, by_staff=False)
    return result


def domain_mark_verified(*, domain: Domain, by_staff: bool) -> Domain:
    """The claim wins the name: verified, then pushed with its accounts (the followers);
    every other organization's pending claim on the name is removed. Claims on one name are
    locked together, so of two racing verifications exactly one wins."""
    lost = ValidationError(
        _("%(name)s was verified by another organization first.") % {"name": domain.display_name}
    )
    with transaction.atomic():
        claims = list(Domain.objects.select_for_update().filter(name=domain.name).order_by("pk"))
        mine = next((d for d in claims if d.pk == domain.pk), None)
        if mine is None:
            raise lost
        if mine.is_verified:
            return mine
        winner = next((d for d in claims if d.is_verified), None)
        if winner is not None:
            # Added while the winner was being verified: removed as the other claims were.
            _remove_claim(mine)
        else:
            Domain.objects.filter(pk=mine.pk).update(
                verification=Verification.VERIFIED, verified_at=timezone.now(), **mine.bump_fields()
            )
            mine.refresh_from_db()
            for other in claims:
                if other.pk != mine.pk:
                    _remove_claim(other)
            audit(action="domain.verify_staff" if by_staff else "domain.verify", obj=mine)
            for follower in _followers:
                follower(domain=mine)
    if winner is not None:
        raise lost  # after the commit: the removal stands
    for name in ("verification", "verified_at", "desired_version", "changed_at"):
        setattr(domain, name, getattr(mine, name))
    return domain


def _remove_claim(claim: Domain) -> None:
    """Remove a losing pending claim and what its organization prepared on it (never pushed:
    a pending domain reaches nothing). Logins that are members of an organization or staff
    stay; the others go with their mailboxes."""
    users = get_user_model().objects.filter(
        mailbox__domain=claim, memberships__isnull=True, is_staff=False, is_superuser=False
    )
    user_ids = list(users.values_list("pk", flat=True))
    # Logged for the losing organization as the system's doing: nothing about who won.
    token = set_actor(Actor(via="system"))
    try:
        audit(action="domain.claim_removed", obj=claim, fields=["verified_elsewhere"])
    finally:
        reset_actor(token)
    ClaimNotice.objects.create(organization_id=claim.organization_id, name=claim.name)
    claim.aliases.all().delete()
    claim.accounts.all().delete()
    get_user_model().objects.filter(pk__in=user_ids).delete()
    claim.delete()


def domain_verify_check(*, domain_id: int) -> str:
    """The periodic re-check of one pending claim (a claim removed meanwhile is skipped)."""
    domain = Domain.objects.filter(pk=domain_id).first()
    if domain is None:
        return ""
    try:
        return domain_verify_now(domain=domain)
    except ValidationError:  # another organization verified the name first
        return ""


def domains_due_for_verification(*, limit: int = 500) -> list[int]:
    """Pending claims to ask DNS about again: every DOMAIN_VERIFY_INTERVAL during their first
    week, then daily (an abandoned claim costs one query a day)."""
    now = timezone.now()
    week_ago = now - timedelta(days=7)
    due = Q(verification_checked_at__isnull=True)
    due |= Q(
        created_at__gte=week_ago,
        verification_checked_at__lt=now - timedelta(seconds=settings.DOMAIN_VERIFY_INTERVAL),
    )
    due |= Q(created_at__lt=week_ago, verification_checked_at__lt=now - timedelta(days=1))
    pending = Domain.objects.filter(verification=Verification.PENDING).filter(due)
    ids = pending.order_by("verification_checked_at", "pk").values_list("pk", flat=True)
    return list(ids[:limit])
