"""Domain operations: every write checks the plan and enqueues the push after commit."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tempusmail.audit import audit
from tempusmail.provisioning import enqueue_on_commit

from .models import Domain, Organization, Plan
from .tasks import push_domain, remove_domain
from .validators import normalize_domain_name


def _lock_organization(organization: Organization) -> Organization:
    """Serialize writes that count against the plan: two requests cannot take one last slot."""
    return Organization.objects.select_for_update().select_related("plan").get(pk=organization.pk)


def domain_create(*, organization: Organization, name: str) -> Domain:
    ascii_name = normalize_domain_name(name)
    with transaction.atomic():
        org = _lock_organization(organization)
        plan = org.plan
        if org.domains.count() >= plan.max_domains:
            raise ValidationError(
                _("Your plan allows at most %(max)d domains.") % {"max": plan.max_domains}
            )
        if Domain.objects.filter(name=ascii_name).exists():
            raise ValidationError(_("This domain is already active on this service."))
        domain = Domain.objects.create(
            organization=org,
            name=ascii_name,
            services=list(plan.services),
            storage_options_mb=list(plan.storage_options_mb),
            default_daily_send_limit=plan.default_daily_send_limit,
        )
        _enqueue(domain)
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


def domain_delete(*, domain: Domain) -> None:
    """Only an empty domain goes; its mail-system side is removed after commit."""
    with transaction.atomic():
        if domain.accounts.exists() or domain.aliases.exists():
            raise ValidationError(_("A domain with email accounts or aliases cannot be deleted."))
        if domain.groups.exists():
            raise ValidationError(_("A domain with groups cannot be deleted: delete them first."))
        name = domain.name
        audit(action="domain.delete", obj=domain)
        domain.delete()
        transaction.on_commit(lambda: remove_domain.delay(name), robust=True)


def resync(*, domains) -> int:
    """Push these domains again, whatever the mail system holds (verify_backend --repair)."""
    count = 0
    with transaction.atomic():
        for domain in domains:
            Domain.objects.filter(pk=domain.pk).update(**domain.bump_fields())
            _enqueue(domain)
            count += 1
    return count


def _enqueue(domain: Domain) -> None:
    enqueue_on_commit(push_domain, domain.pk)
