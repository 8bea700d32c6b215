"""Celery tasks take ids, reload and call a service: no logic here."""

from celery import shared_task

from tempusmail.provisioning import PUSH_TASK, enqueue_on_commit, run_push

from . import ownership, sync
from .models import Domain


@shared_task(**PUSH_TASK)
def push_domain(self, domain_id: int) -> None:
    run_push(self, Domain, domain_id, lambda: sync.domain_push(domain_id=domain_id))


@shared_task(**PUSH_TASK)
def remove_domain(self, name: str) -> None:
    run_push(self, None, None, lambda: sync.domain_remove(name=name))


@shared_task
def check_domain_dns(domain_id: int) -> None:
    sync.dns_check_run(domain_id=domain_id)


@shared_task
def check_dns_all() -> list[int]:
    """Beat: check the DNS health of verified domains whose last check is old."""
    ids = sync.domains_due_for_health()
    for pk in ids:
        check_domain_dns.delay(pk)
    return ids


@shared_task
def verify_domain(domain_id: int) -> str:
    return ownership.domain_verify_check(domain_id=domain_id)


@shared_task
def verify_pending() -> list[int]:
    """Beat: ask DNS again about the pending claims that are due (one task each)."""
    ids = ownership.domains_due_for_verification()
    for pk in ids:
        verify_domain.delay(pk)
    return ids


def after_verification(*, domain: Domain) -> None:
    """Registered in apps.py: a newly verified domain is pushed and its DNS checked."""
    enqueue_on_commit(push_domain, domain.pk)
    enqueue_on_commit(check_domain_dns, domain.pk)


@shared_task
def collect_sent_days() -> int:
    return sync.collect_sent_days()
