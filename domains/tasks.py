"""Celery tasks take ids, reload and call a service: no logic here."""

from celery import shared_task

from tempusmail.provisioning import PUSH_TASK, run_push

from . import sync
from .models import Domain


@shared_task(**PUSH_TASK)
def push_domain(self, domain_id: int) -> None:
    run_push(self, Domain, domain_id, lambda: sync.domain_push(domain_id=domain_id))


@shared_task(**PUSH_TASK)
def remove_domain(self, name: str) -> None:
    run_push(self, None, None, lambda: sync.domain_remove(name=name))
