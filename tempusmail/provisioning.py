"""The parts of the provisioning pipeline that domains and accounts share (DESIGN.md, status)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

log = logging.getLogger(__name__)


def enqueue_on_commit(task, pk: int) -> None:
    """Send the push after commit; a broker that is down is healed later by the reconciler."""

    def send() -> None:
        try:
            task.delay(pk)
        except Exception:  # noqa: BLE001 - any broker failure: the reconciler re-enqueues
            log.warning("could not enqueue %s(%s); the reconciler will retry", task.name, pk)

    transaction.on_commit(send)


def mark_applied(model: type[models.Model], *, pk: int, version: int) -> bool:
    """Record a pushed version, unless a newer one was already recorded (stale push)."""
    return bool(
        model.objects.filter(pk=pk, applied_version__lt=version).update(
            applied_version=version, last_error="", last_error_at=None
        )
    )


def record_error(model: type[models.Model], *, pk: int, error: str) -> None:
    model.objects.filter(pk=pk).update(last_error=error[:2000], last_error_at=timezone.now())


def pending(model: type[models.Model]) -> models.QuerySet:
    """Rows whose change has waited longer than RECONCILE_AFTER_SECONDS without being applied,
    skipping those whose retry chain failed recently (they are still retrying with backoff)."""
    cutoff = timezone.now() - timedelta(seconds=settings.RECONCILE_AFTER_SECONDS)
    return model.objects.filter(
        applied_version__lt=models.F("desired_version"), changed_at__lt=cutoff
    ).exclude(last_error_at__gte=cutoff)
