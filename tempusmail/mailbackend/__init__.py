"""Select the configured mail backend adapter (settings.MAIL_BACKEND)."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from .base import (
    AccountState,
    Autoresponder,
    BackendError,
    DkimKey,
    DomainState,
    GroupState,
    MailBackend,
    Usage,
)

BACKENDS = {
    "memory": "tempusmail.mailbackend.memory.MemoryBackend",
    "dovecot": "tempusmail.mailbackend.dovecot.DovecotBackend",
}


@cache
def _load(name: str) -> MailBackend:
    return import_string(BACKENDS.get(name, name))()


def get_backend() -> MailBackend:
    """One adapter instance per process and configured name (tests may switch the setting)."""
    return _load(settings.MAIL_BACKEND)


__all__ = [
    "AccountState",
    "Autoresponder",
    "BackendError",
    "DkimKey",
    "DomainState",
    "GroupState",
    "MailBackend",
    "Usage",
    "get_backend",
]
