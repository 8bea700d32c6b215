"""Celery tasks take ids, reload and call a service: no logic here."""

from celery import shared_task

from domains.models import Domain
from domains.tasks import push_domain
from tempusmail.provisioning import PUSH_TASK, reenqueue, run_push

from . import sync
from .models import EmailAccount, Group


@shared_task(**PUSH_TASK)
def push_account(self, account_id: int) -> None:
    run_push(self, EmailAccount, account_id, lambda: sync.account_push(account_id=account_id))


@shared_task(**PUSH_TASK)
def push_group(self, group_id: int) -> None:
    run_push(self, Group, group_id, lambda: sync.group_push(group_id=group_id))


@shared_task(**PUSH_TASK)
def remove_group(self, address: str) -> None:
    run_push(self, None, None, lambda: sync.group_remove(address=address))


@shared_task
def reconcile() -> list[int]:
    """Re-enqueue every account and domain whose change was not applied in time."""
    reenqueue(Domain, push_domain, limit=1000)
    reenqueue(Group, push_group, limit=1000)
    return reenqueue(EmailAccount, push_account, limit=5000)


@shared_task
def collect_usage() -> int:
    return sync.collect_usage()
