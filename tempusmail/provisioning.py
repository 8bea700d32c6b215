"""The parts of the provisioning pipeline that domains and accounts share (DESIGN.md, status)."""

import logging
from collections.abc import Callable
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


# The one shape of every push task: acknowledged after it ran (a killed worker's push is
# redelivered), retried with exponential backoff up to 5 minutes.
PUSH_TASK = {"bind": True, "max_retries": 8, "acks_late": True}


def run_push(task, model: type[models.Model] | None, pk, push: Callable[[], None]) -> None:
    """Run a push; on failure record the error on the row (the list and staff see it) and
    retry. The reconciler takes over once the retries are spent."""
    try:
        push()
    except Exception as exc:
        if model is not None:
            model.objects.filter(pk=pk).update(
                last_error=f"{type(exc).__name__}: {exc}"[:2000], last_error_at=timezone.now()
            )
        raise task.retry(exc=exc, countdown=min(300, 2 ** (task.request.retries + 1))) from exc


def reenqueue(
    model: type[models.Model], task, *, limit: int, queryset: models.QuerySet | None = None
) -> list[int]:
    """Send the push of every row `pending` finds again; return their ids."""
    ids = list(pending(model, queryset=queryset).values_list("pk", flat=True)[:limit])
    for pk in ids:
        task.delay(pk)
    return ids


def pending(model: type[models.Model], *, queryset: models.QuerySet | None = None):
    """Rows whose change has waited longer than RECONCILE_AFTER_SECONDS without being applied,
    skipping those whose retry chain failed recently (they are still retrying with backoff).
    `queryset` narrows the rows (e.g. to those the mail system may know at all)."""
    cutoff = timezone.now() - timedelta(seconds=settings.RECONCILE_AFTER_SECONDS)
    return (
        (model.objects.all() if queryset is None else queryset)
        .filter(applied_version__lt=models.F("desired_version"), changed_at__lt=cutoff)
        .exclude(last_error_at__gte=cutoff)
    )
