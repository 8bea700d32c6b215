"""Celery tasks take ids, reload and call a service: no logic here."""

from celery import shared_task

from tempusmail.provisioning import record_error

from . import services
from .models import EmailAccount


@shared_task(bind=True, max_retries=8, acks_late=True)
def push_account(self, account_id: int) -> None:
    try:
        services.account_push(account_id=account_id)
    except Exception as exc:
        record_error(EmailAccount, pk=account_id, error=f"{type(exc).__name__}: {exc}")
        raise self.retry(exc=exc, countdown=min(300, 2 ** (self.request.retries + 1))) from exc


@shared_task
def reconcile() -> int:
    return len(services.reconcile())


@shared_task
def collect_usage() -> int:
    return services.collect_usage()
