"""Celery tasks take ids, reload and call a service: no logic here."""

from celery import shared_task

from . import services

RETRY = {
    "autoretry_for": (Exception,),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "max_retries": 8,
}


@shared_task(**RETRY)
def push_domain(domain_id: int) -> None:
    services.domain_push(domain_id=domain_id)


@shared_task(**RETRY)
def remove_domain(name: str) -> None:
    services.domain_remove(name=name)
