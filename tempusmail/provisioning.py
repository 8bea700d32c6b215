"""The parts of the provisioning pipeline that domains and accounts share (DESIGN.md, status)."""

import contextlib
import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

log = logging.getLogger(__name__)


# Inside batched_pushes(): the single task -> (its batch task, the ids gathered for it).
_gathered: ContextVar[dict | None] = ContextVar("gathered_pushes", default=None)


def enqueue_on_commit(task, pk) -> None:
    """Send the push after commit; a broker that is down is healed later by the reconciler.
    Inside batched_pushes() a task that has a batch form is gathered instead."""
    gathered = _gathered.get()
    if gathered is not None and task in gathered:
        gathered[task][1].add(pk)
        return

    def send() -> None:
        try:
            task.delay(pk)
        except Exception:  # noqa: BLE001 - any broker failure: the reconciler re-enqueues
            log.warning("could not enqueue %s(%s); the reconciler will retry", task.name, pk)

    transaction.on_commit(send)


@contextlib.contextmanager
def batched_pushes(batches: dict, *, size: int = 500):
    """Within the block, the pushes of each task in `batches` ({push_account: push_accounts})
    are gathered and sent after commit as one batch task per `size` ids (a bulk job's chunk
    is one task, not one per account). Enter it inside the transaction whose commit sends
    them; a push gathered by an item whose savepoint rolled back is sent too (harmless: a
    push is idempotent and records nothing older than what is applied)."""
    gathered = {task: (batch, set()) for task, batch in batches.items()}
    token = _gathered.set(gathered)
    try:
        yield
    finally:
        _gathered.reset(token)
    for batch, ids in gathered.values():
        ordered = sorted(ids)
        for first in range(0, len(ordered), size):
            enqueue_on_commit(batch, ordered[first : first + size])


def mark_applied(model: type[models.Model], *, pk: int, version: int) -> bool:
    """Record a pushed version, unless a newer one was already recorded (stale push)."""
    return pk in mark_applied_many(model, {pk: version})


def mark_applied_many(model: type[models.Model], versions: dict[int, int]) -> set[int]:
    """mark_applied for several rows ({pk: version pushed}), two statements per distinct
    version; the pks recorded (the others already held that version or a newer one)."""
    by_version: dict[int, list[int]] = {}
    for pk, version in versions.items():
        by_version.setdefault(version, []).append(pk)
    marked: set[int] = set()
    with transaction.atomic():
        for version, pks in by_version.items():
            rows = model.objects.filter(pk__in=pks, applied_version__lt=version)
            held = list(rows.select_for_update().values_list("pk", flat=True))
            model.objects.filter(pk__in=held).update(
                applied_version=version, last_error="", last_error_at=None
            )
            marked.update(held)
    return marked


# The one shape of every push task: acknowledged after it ran (a killed worker's push is
# redelivered), retried with exponential backoff up to 5 minutes.
PUSH_TASK = {"bind": True, "max_retries": 8, "acks_late": True}


def run_push(task, model: type[models.Model] | None, pk, push: Callable[[], None]) -> None:
    """Run a push; on failure record the error on the row (the list and staff see it), or on
    every row of a batch (pk a list), and retry. The reconciler takes over once the retries
    are spent."""
    try:
        push()
    except Exception as exc:
        if model is not None:
            model.objects.filter(pk__in=pk if isinstance(pk, list) else [pk]).update(
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
