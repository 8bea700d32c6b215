"""Domain operations: every write checks the plan and enqueues the push after commit.

A domain is added *pending*: nothing of it reaches the mail system until its organization
publishes the claim's token in DNS (or staff vouch for it). The first organization to verify
a name gets it; the other organizations' pending claims on it are removed, with a notice.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tempusmail.audit import audit
from tempusmail.provisioning import enqueue_on_commit

from . import dkim, ownership
from .models import ClaimNotice, DkimKey, DnsCheck, Domain, Organization, Plan, Verification
from .tasks import check_domain_dns, push_domain, remove_domain
from .validators import normalize_claim

# Keys kept published after rotations, beyond the active one: retire one before rotating again.
MAX_KEPT_DKIM_KEYS = 4


def _lock_organization(organization: Organization) -> Organization:
    """Serialize writes that count against the plan: two requests cannot take one last slot."""
    return Organization.objects.select_for_update().select_related("plan").get(pk=organization.pk)


def domain_create(*, organization: Organization, name: str) -> Domain:
    """Add a pending domain with its verification token and first DKIM key. An unverified
    claim of another organization blocks nobody; a verified name cannot be added again."""
    ascii_name = normalize_claim(name)
    with transaction.atomic():
        org = _lock_organization(organization)
        plan = org.plan
        if org.domains.count() >= plan.max_domains:
            raise ValidationError(
                _("Your plan allows at most %(max)d domains.") % {"max": plan.max_domains}
            )
        if Domain.objects.filter(name=ascii_name, verification=Verification.VERIFIED).exists():
            raise ValidationError(_("This domain is already active on this service."))
        if org.domains.filter(name=ascii_name).exists():
            raise ValidationError(_("You have already added this domain."))
        domain = Domain.objects.create(
            organization=org,
            name=ascii_name,
            services=list(plan.services),
            storage_options_mb=list(plan.storage_options_mb),
            default_daily_send_limit=plan.default_daily_send_limit,
        )
        _new_dkim_key(domain)
        audit(action="domain.create", obj=domain)
    return domain


def validate_domain_settings(
    *, plan: Plan, services: list[str], storage_options_mb: list[int], default_daily_send_limit: int
) -> None:
    if not set(services) <= set(plan.services):
        raise ValidationError(_("Your plan does not offer one of these services."))
    if not storage_options_mb:
        raise ValidationError(_("Offer at least one storage capacity."))
    if not set(storage_options_mb) <= set(plan.storage_options_mb):
        raise ValidationError(_("Your plan does not offer one of these storage capacities."))
    if default_daily_send_limit > plan.max_daily_send_limit:
        raise ValidationError(
            _("Your plan allows at most %(max)d messages a day.")
            % {"max": plan.max_daily_send_limit}
        )


def domain_update_settings(
    *,
    domain: Domain,
    services: list[str],
    storage_options_mb: list[int],
    default_daily_send_limit: int,
) -> Domain:
    validate_domain_settings(
        plan=domain.organization.plan,
        services=services,
        storage_options_mb=storage_options_mb,
        default_daily_send_limit=default_daily_send_limit,
    )
    before = (domain.services, domain.storage_options_mb, domain.default_daily_send_limit)
    domain.services = [s for s in services]
    domain.storage_options_mb = sorted(storage_options_mb)
    domain.default_daily_send_limit = default_daily_send_limit
    domain.save(update_fields=["services", "storage_options_mb", "default_daily_send_limit"])
    after = (domain.services, domain.storage_options_mb, domain.default_daily_send_limit)
    names = ("services", "storage_options_mb", "default_daily_send_limit")
    changed = [n for n, old, new in zip(names, before, after, strict=True) if old != new]
    if changed:
        audit(action="domain.update", obj=domain, fields=changed)
    return domain


def domain_delete_blocker(domain: Domain) -> str | None:
    """Why the domain cannot be deleted now, or None: only an empty domain goes."""
    if domain.accounts.exists() or domain.aliases.exists():
        return _("A domain with email accounts or aliases cannot be deleted.")
    if domain.groups.exists():
        return _("A domain with groups cannot be deleted: delete them first.")
    return None


def domain_delete(*, domain: Domain) -> None:
    """Only an empty domain goes; its mail-system side is removed after commit."""
    with transaction.atomic():
        if blocker := domain_delete_blocker(domain):
            raise ValidationError(blocker)
        name = domain.name
        audit(action="domain.delete", obj=domain)
        domain.delete()
        transaction.on_commit(lambda: remove_domain.delay(name), robust=True)


def resync(*, domains) -> int:
    """Push these domains again, whatever the mail system holds (verify_backend --repair)."""
    count = 0
    with transaction.atomic():
        for domain in domains:
            _bump(domain)
            count += 1
    return count


# --- ownership (domains.ownership) ----------------------------------------------------------

domain_verify_now = ownership.domain_verify_now
domain_mark_verified = ownership.domain_mark_verified


def notices_dismiss(*, organizations) -> int:
    return ClaimNotice.objects.filter(
        organization__in=organizations, dismissed_at__isnull=True
    ).update(dismissed_at=timezone.now())


# --- DNS health ----------------------------------------------------------------------------


def dns_check_request(*, domain: Domain) -> None:
    """Ask a worker to check the domain's records (the tab shows the stored answers)."""
    with transaction.atomic():
        DnsCheck.objects.update_or_create(domain=domain, defaults={"requested_at": timezone.now()})
        enqueue_on_commit(check_domain_dns, domain.pk)


# --- DKIM ----------------------------------------------------------------------------------


def _new_dkim_key(domain: Domain) -> DkimKey:
    encrypted, public = dkim.new_key()
    selector = f"tm{timezone.now():%Y%m%d%H%M%S}"
    n = 1
    while domain.dkim_keys.filter(selector=selector).exists():
        n += 1
        selector = f"tm{timezone.now():%Y%m%d%H%M%S}-{n}"
    return DkimKey.objects.create(
        domain=domain, selector=selector, private_key=encrypted, public_key=public, active=True
    )


def dkim_rotate(*, domain: Domain) -> DkimKey:
    """A new key (and selector) signs from now on; the old one stays published until the
    owner retires it, so mail it signed still verifies."""
    with transaction.atomic():
        locked = Domain.objects.select_for_update().get(pk=domain.pk)
        if locked.dkim_keys.filter(active=False).count() >= MAX_KEPT_DKIM_KEYS:
            raise ValidationError(
                _("Retire an old DKIM key before rotating again (at most %(max)d are kept).")
                % {"max": MAX_KEPT_DKIM_KEYS}
            )
        locked.dkim_keys.filter(active=True).update(active=False)
        key = _new_dkim_key(locked)
        _bump(locked)
        audit(action="dkim.rotate", obj=locked, fields=[key.selector])
    return key


def dkim_retire(*, domain: Domain, selector: str) -> None:
    """Stop publishing an old key (the owner then removes its DNS record)."""
    with transaction.atomic():
        locked = Domain.objects.select_for_update().get(pk=domain.pk)
        key = locked.dkim_keys.filter(selector=str(selector)[:63]).first()
        if key is None:
            raise ValidationError(_("This domain has no DKIM key with that selector."))
        if key.active:
            raise ValidationError(
                _("The active key signs outgoing mail: rotate first, then retire the old key.")
            )
        key.delete()
        _bump(locked)
        audit(action="dkim.retire", obj=locked, fields=[key.selector])


# --- pushes --------------------------------------------------------------------------------


def organization_domains_repush(*, organization_id: int) -> int:
    """Push the organization's verified domains again: their default postmaster@/support@
    targets follow the owner's address (called when owners or their addresses change)."""
    count = 0
    with transaction.atomic():
        for domain in Domain.objects.filter(
            organization_id=organization_id, verification=Verification.VERIFIED
        ):
            _bump(domain)
            count += 1
    return count


def _bump(domain: Domain) -> None:
    """A change the mail system must learn; pending domains reach nothing, so no push."""
    Domain.objects.filter(pk=domain.pk).update(**domain.bump_fields())
    domain.refresh_from_db(fields=["desired_version", "changed_at"])
    if domain.is_verified:
        enqueue_on_commit(push_domain, domain.pk)


def organization_delete(*, organization: Organization) -> None:
    """Staff remove a customer: only once it has no email accounts; each of its (empty)
    domains goes through domain_delete, so the mail system forgets it too."""
    with transaction.atomic():
        org = _lock_organization(organization)
        if org.accounts.exists():
            raise ValidationError(_("An organization with email accounts cannot be deleted."))
        if org.credit_entries.exists():  # the ledger is kept (CreditEntry is append-only)
            raise ValidationError(_("An organization with a credit history cannot be deleted."))
        for domain in org.domains.all():
            domain_delete(domain=domain)
        audit(action="organization.delete", obj=org, organization_id=None)
        org.delete()
