"""Celery tasks take ids, reload and call a service: no logic here."""

from celery import shared_task
from django.db.models import Q

from domains.models import Domain, Verification
from domains.tasks import push_domain
from tempusmail.provisioning import PUSH_TASK, reenqueue, run_push

from . import sync
from .models import EmailAccount, Group


@shared_task(**PUSH_TASK)
def push_account(self, account_id: int) -> None:
    run_push(self, EmailAccount, account_id, lambda: sync.account_push(account_id=account_id))


@shared_task(**PUSH_TASK)
def push_accounts(self, account_ids: list[int]) -> None:
    """A batch of pushes (a bulk job's chunk): one adapter call for them all."""
    run_push(self, EmailAccount, account_ids, lambda: sync.accounts_push(account_ids=account_ids))


@shared_task(**PUSH_TASK)
def push_group(self, group_id: int) -> None:
    run_push(self, Group, group_id, lambda: sync.group_push(group_id=group_id))


@shared_task(**PUSH_TASK)
def remove_group(self, address: str) -> None:
    run_push(self, None, None, lambda: sync.group_remove(address=address))


@shared_task
def reconcile() -> list[int]:
    """Re-enqueue every account and domain whose change was not applied in time."""
    verified = Domain.objects.filter(verification=Verification.VERIFIED)
    reenqueue(Domain, push_domain, limit=1000, queryset=verified)
    groups = Group.objects.filter(domain__verification=Verification.VERIFIED)
    reenqueue(Group, push_group, limit=1000, queryset=groups)
    # Accounts of pending domains wait for the verification, which pushes them all.
    live = EmailAccount.objects.filter(
        Q(domain__verification=Verification.VERIFIED) | Q(deleting=True)
    )
    return reenqueue(EmailAccount, push_account, limit=5000, queryset=live)


@shared_task
def collect_usage() -> int:
    return sync.collect_usage()
