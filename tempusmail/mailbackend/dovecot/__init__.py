"""The production adapter for Dovecot and Postfix, split along its seams: the directory's
tables (schema), a state as rows (rows, sieve), the connection (directory) and the backend."""

from .backend import DovecotBackend
from .directory import Directory
from .rows import dovecot_password, forward_targets, mailbox_row
from .schema import MAILBOX_COLUMNS, SCHEMA
from .sieve import sieve_quote, sieve_script

__all__ = [
    "MAILBOX_COLUMNS",
    "SCHEMA",
    "Directory",
    "DovecotBackend",
    "dovecot_password",
    "forward_targets",
    "mailbox_row",
    "sieve_quote",
    "sieve_script",
]
