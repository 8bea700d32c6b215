"""Celery tasks of the external mailboxes: take ids, call the importer, no logic here."""

from celery import shared_task

from . import importer
from .models import ExternalMailbox


@shared_task(acks_late=True, ignore_result=True)
def sync_external_mailbox(mailbox_id: int) -> str:
    """One sync (the first is the full import); a second copy of it for the same connection
    finds the lease taken and returns at once."""
    if not ExternalMailbox.objects.filter(pk=mailbox_id).exists():
        return "gone"
    return importer.sync(mailbox_id=mailbox_id)


@shared_task(ignore_result=True)
def sync_due() -> int:
    """Every minute (beat): enqueue the connections whose next sync is due."""
    due = importer.due_connections()
    for pk in due:
        sync_external_mailbox.delay(pk)
    return len(due)
