"""Celery tasks take ids, reload and call a service: no logic here."""

from celery import shared_task
from django.db.models import Q

from domains.models import Domain, Verification
from domains.tasks import push_domain
from tempusmail.provisioning import PUSH_TASK, reenqueue, run_push

from . import sync
from .models import EmailAccount


@shared_task(**PUSH_TASK)
def push_account(self, account_id: int) -> None:
    run_push(self, EmailAccount, account_id, lambda: sync.account_push(account_id=account_id))


@shared_task
def reconcile() -> list[int]:
    """Re-enqueue every account and domain whose change was not applied in time."""
    verified = Domain.objects.filter(verification=Verification.VERIFIED)
    reenqueue(Domain, push_domain, limit=1000, queryset=verified)
    # Accounts of pending domains wait for the verification, which pushes them all.
    live = EmailAccount.objects.filter(
        Q(domain__verification=Verification.VERIFIED) | Q(deleting=True)
    )
    return reenqueue(EmailAccount, push_account, limit=5000, queryset=live)


@shared_task
def collect_usage() -> int:
    return sync.collect_usage()
