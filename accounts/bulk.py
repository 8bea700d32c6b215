"""Bulk work on the accounts of a domain: actions on a selection (or on every account that
matches a search) and CSV imports, run by a worker as a BulkJob with one item per account or
row (DESIGN.md: "bulk jobs and CSV import/export").

Each item is applied exactly as a single change from the panel would be: the job's author is
the actor, fetched through accounts.access with the role that change needs (so a viewer
changes nothing, an operator does not deactivate, another tenant's account is "not found"),
validated by the same service, audited as one change. An item's change and its outcome are
written in one transaction, under a lock on the item: a worker that dies loses at most the
transaction in flight, and running the job again (redelivered, or resumed by the reconciler)
carries on with the items still pending and never applies one twice.

Items run in chunks of settings.BULK_CHUNK_SIZE, one transaction per chunk: the chunk's
accounts fetched in one query, a settings change checked per account and written for the
chunk at once (services.accounts_update), a status change or an import row applied in its
own savepoint (one refusal leaves the others); the chunk's pushes leave after its commit as
one push_accounts task (one directory transaction and one auth cache flush on the worker).
A worker that dies loses the chunk in flight, whose items are still pending."""

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from domains.access import check_role
from domains.models import Domain
from tempusmail.audit import Actor, audit, reset_actor, set_actor
from tempusmail.mailbackend.base import SERVICES
from tempusmail.provisioning import batched_pushes

from . import csvio, services
from .access import get_accounts_for
from .csvio import Outcome, errors_of
from .models import BulkJob, BulkJobItem, EmailAccount, User
from .tasks import push_account, push_accounts

log = logging.getLogger(__name__)
Kind = BulkJob.Kind
# Changes that need the owner's role when made one at a time (accounts.views._lifecycle).
MANAGE_KINDS = frozenset({Kind.DEACTIVATE, Kind.REACTIVATE})
ACTION_KINDS = (
    Kind.DEACTIVATE,
    Kind.REACTIVATE,
    Kind.STORAGE,
    Kind.SERVICES,
    Kind.SEND_LIMIT,
    Kind.RESYNC,
)
# Settings changes: a chunk of them is written at once (services.accounts_update).
UPDATE_KINDS = (Kind.STORAGE, Kind.SERVICES, Kind.SEND_LIMIT)


def search_filter(q: str) -> Q:
    """The account list's search (accounts.views.account_list), for "all matching"."""
    return Q(address__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q)


def check_params(*, domain: Domain, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The action's value, checked once up front (each account is checked again when run)."""
    if kind == Kind.STORAGE:
        try:
            quota = int(params.get("quota_mb"))
        except (TypeError, ValueError):
            quota = None
        if quota not in domain.storage_options_mb:
            raise ValidationError(
                {"quota_mb": _("Choose one of the storage capacities the domain offers.")}
            )
        return {"quota_mb": quota}
    if kind == Kind.SERVICES:
        chosen = [s for s in params.get("services") or [] if s in SERVICES]
        if not set(chosen) <= set(domain.services):
            raise ValidationError({"services": _("The domain does not offer one of these.")})
        return {"services": [s for s in domain.offered_services() if s in chosen]}
    if kind == Kind.SEND_LIMIT:
        plan = domain.organization.plan
        try:
            limit = int(params.get("daily_send_limit"))
        except (TypeError, ValueError):
            limit = 0
        if not 1 <= limit <= plan.max_daily_send_limit:
            raise ValidationError(
                {
                    "daily_send_limit": _(
                        "Your plan allows a daily sending limit between 1 and %(max)d."
                    )
                    % {"max": plan.max_daily_send_limit}
                }
            )
        return {"daily_send_limit": limit}
    if kind in ACTION_KINDS:
        return {}
    raise ValidationError(_("Choose an action."))


def bulk_start(
    *,
    user: User,
    domain: Domain,
    kind: str,
    params: dict[str, Any],
    account_ids: list[int] | None = None,
    q: str | None = None,
) -> BulkJob:
    """Queue an action on the given accounts, or (account_ids None) on every account of the
    domain matching `q` when the job runs. `domain` comes from get_domain_for (member_role)."""
    check_role(domain.member_role, write=True, manage=kind in MANAGE_KINDS)
    clean = check_params(domain=domain, kind=kind, params=params)
    if account_ids is not None:
        account_ids = sorted({int(pk) for pk in account_ids})
        if not account_ids:
            raise ValidationError(_("Select at least one account."))
        clean["ids"] = account_ids
    else:
        clean["q"] = (q or "").strip()[:100]
    with transaction.atomic():
        job = BulkJob.objects.create(
            organization_id=domain.organization_id,
            domain=domain,
            created_by=user,
            kind=kind,
            params=clean,
        )
        audit(action=f"bulk.{kind}", obj=job, organization_id=domain.organization_id)
        enqueue(job)
    return job


# Tasks of this module (settings.CELERY_IMPORTS): the account services enqueue through
# accounts.tasks, so a tasks.py importing this module would be a cycle (as for renewals).
@shared_task(name="accounts.run_bulk_job", acks_late=True)
def run_bulk_job(job_id: int) -> None:
    bulk_run(job_id=job_id)


@shared_task(name="accounts.resume_bulk_jobs")
def resume_bulk_jobs() -> list[int]:
    forget_previews()
    return resume_stalled()


def enqueue(job: BulkJob) -> None:
    def send() -> None:
        try:
            run_bulk_job.delay(job.pk)
        except Exception:  # noqa: BLE001 - any broker failure: the reconciler resumes it
            log.warning("could not enqueue bulk job %s; the reconciler will resume it", job.pk)

    transaction.on_commit(send)


def _resolve(job: BulkJob) -> None:
    """The first run turns the selection into items, once (under the job's lock)."""
    with transaction.atomic():
        held = BulkJob.objects.select_for_update().get(pk=job.pk)
        if held.state != BulkJob.State.QUEUED:
            return
        if job.kind != Kind.IMPORT:
            accounts = EmailAccount.objects.filter(domain_id=job.domain_id, deleting=False)
            if "ids" in job.params:
                accounts = accounts.filter(pk__in=job.params["ids"])
            elif job.params.get("q"):
                accounts = accounts.filter(search_filter(job.params["q"]))
            rows = accounts.order_by("address").values_list("pk", "address")
            BulkJobItem.objects.bulk_create(
                [BulkJobItem(job=held, account_id=pk, address=address) for pk, address in rows],
                batch_size=1000,
            )
            held.total = len(rows)
        held.state = BulkJob.State.RUNNING
        held.updated_at = timezone.now()
        held.save(update_fields=["total", "state", "updated_at"])


def bulk_run(*, job_id: int) -> None:
    """Run (or carry on with) a job until no item is pending."""
    job = BulkJob.objects.select_related("domain__organization__plan").filter(pk=job_id).first()
    if job is None or job.state in (BulkJob.State.PREVIEW, BulkJob.State.DONE):
        return
    _resolve(job)
    token = set_actor(Actor(user=job.created_by, via="bulk"))
    try:
        last = 0
        while True:
            batch = list(
                BulkJobItem.objects.filter(job=job, state=BulkJobItem.State.PENDING, pk__gt=last)
                .order_by("pk")
                .values_list("pk", flat=True)[: settings.BULK_CHUNK_SIZE]
            )
            if not batch:
                break
            _run_chunk(job, batch)
            last = batch[-1]
    finally:
        reset_actor(token)
    if not BulkJobItem.objects.filter(job=job, state=BulkJobItem.State.PENDING).exists():
        BulkJob.objects.filter(pk=job.pk).exclude(state=BulkJob.State.DONE).update(
            state=BulkJob.State.DONE, finished_at=timezone.now(), updated_at=timezone.now()
        )


def _run_chunk(job: BulkJob, pks: list[int]) -> None:
    """One transaction for the chunk's items, their outcomes and the job's counters; the
    chunk's pushes leave as one task after its commit."""
    with transaction.atomic(), batched_pushes({push_account: push_accounts}, size=len(pks)):
        items = list(
            BulkJobItem.objects.select_for_update(skip_locked=True)
            .filter(pk__in=pks, state=BulkJobItem.State.PENDING)
            .order_by("pk")
        )
        if not items:
            return  # another run holds them, or did them
        get = None
        if job.kind != Kind.IMPORT and job.created_by is not None:
            get = get_accounts_for(
                job.created_by,
                [item.account_id for item in items],
                write=True,
                manage=job.kind in MANAGE_KINDS,
            )
        if job.kind in UPDATE_KINDS:
            outcomes = _update_outcomes(job, items, get)
        elif job.kind == Kind.IMPORT:
            outcomes = csvio.import_creations(job=job, items=items)
        else:
            outcomes = {}
        for item in items:
            if item.pk not in outcomes:
                outcomes[item.pk] = _outcome(job, item, get)
        counts = {"done": 0, "failed": 0}
        for item in items:
            outcome = outcomes[item.pk]
            item.state = outcome.state
            item.errors = outcome.errors
            if job.kind == Kind.IMPORT and item.data.get("password"):
                item.data = {**item.data, "password": ""}  # not kept once used
            counts["failed" if outcome.state == BulkJobItem.State.FAILED else "done"] += 1
        BulkJobItem.objects.bulk_update(items, ["state", "errors", "data", "account"])
        BulkJob.objects.filter(pk=job.pk).update(
            done=F("done") + counts["done"],
            failed=F("failed") + counts["failed"],
            updated_at=timezone.now(),
        )


def _update_outcomes(job: BulkJob, items: list[BulkJobItem], get) -> dict[int, Outcome]:
    """A settings change of the whole chunk at once (services.accounts_update): each account
    fetched and refused as _apply would, the others checked and written together."""
    outcomes: dict[int, Outcome] = {}
    accounts: dict[int, EmailAccount] = {}
    for item in items:
        try:
            accounts[item.pk] = _account_of(job, item, get)
        except (ValidationError, PermissionDenied, Http404) as error:
            outcomes[item.pk] = _refusal(error)
    changes = services.accounts_update(accounts=list(accounts.values()), values=_values(job))
    for pk, account in accounts.items():
        change = changes[account.pk]
        if isinstance(change, ValidationError):
            outcomes[pk] = _refusal(change)
        else:
            state = BulkJobItem.State.DONE if change else BulkJobItem.State.UNCHANGED
            outcomes[pk] = Outcome(state, [])
    return outcomes


def _values(job: BulkJob) -> dict[str, Any]:
    return {k: v for k, v in job.params.items() if k not in ("ids", "q")}


def _outcome(job: BulkJob, item: BulkJobItem, get) -> Outcome:
    """Apply one item in its own savepoint; a refusal is the item's outcome."""
    try:
        with transaction.atomic():
            return _apply(job, item, get)
    except (ValidationError, PermissionDenied, Http404) as error:
        return _refusal(error)


def _refusal(error: Exception) -> Outcome:
    if isinstance(error, ValidationError):
        return Outcome(BulkJobItem.State.FAILED, errors_of(error))
    if isinstance(error, PermissionDenied):
        message = str(error) or _("You are not authorized to perform this operation.")
    else:
        message = _("This account no longer exists.")
    return Outcome(BulkJobItem.State.FAILED, [{"column": "", "message": message}])


def _account_of(job: BulkJob, item: BulkJobItem, get) -> EmailAccount:
    if get is None:
        raise PermissionDenied(_("The person who started this job is no longer a user."))
    account = get(item.account_id)
    if account.domain_id != job.domain_id:
        raise Http404
    if account.deleting:
        raise ValidationError(_("This account is being deleted."))
    return account


def _apply(job: BulkJob, item: BulkJobItem, get) -> Outcome:
    """An import row, or a change of the account's status (settings: _update_outcomes)."""
    if job.kind == Kind.IMPORT:
        return csvio.import_row(job=job, item=item)
    account = _account_of(job, item, get)
    done = Outcome(BulkJobItem.State.DONE, [])
    unchanged = Outcome(BulkJobItem.State.UNCHANGED, [])
    if job.kind == Kind.DEACTIVATE:
        if not account.is_active:
            return unchanged
        services.account_deactivate(account=account)
        return done
    if job.kind == Kind.REACTIVATE:
        if account.is_active:
            return unchanged
        services.account_reactivate(account=account)
        return done
    services.resync(accounts=[account])  # Kind.RESYNC
    audit(action="account.resync", obj=account)
    return done


def resume_stalled(*, older_than: float | None = None) -> list[int]:
    """Reconciler: re-enqueue every job not finished whose progress stood still (its worker
    died, or the broker lost the message). Running it twice at once is harmless."""
    seconds = settings.RECONCILE_AFTER_SECONDS if older_than is None else older_than
    cutoff = timezone.now() - timedelta(seconds=seconds)
    ids = list(
        BulkJob.objects.filter(
            state__in=[BulkJob.State.QUEUED, BulkJob.State.RUNNING], updated_at__lte=cutoff
        ).values_list("pk", flat=True)[:100]
    )
    for pk in ids:
        run_bulk_job.delay(pk)
    return ids


PREVIEW_HOURS = 24


def forget_previews(*, hours: float = PREVIEW_HOURS) -> int:
    """Previews nobody imported are deleted after a day, with the (encrypted) passwords of
    their rows."""
    cutoff = timezone.now() - timedelta(hours=hours)
    deleted, _by_model = BulkJob.objects.filter(
        state=BulkJob.State.PREVIEW, created_at__lt=cutoff
    ).delete()
    return deleted


def failures(job: BulkJob, *, limit: int = 500) -> list[BulkJobItem]:
    return list(
        BulkJobItem.objects.filter(job=job, state=BulkJobItem.State.FAILED)
        .only("pk", "line", "address", "errors")
        .order_by("pk")[:limit]
    )
