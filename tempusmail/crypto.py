"""Secrets at rest (DKIM private keys): Fernet from `cryptography`, keyed by settings.

SECRETS_ENCRYPTION_KEYS lists Fernet keys; the first encrypts and every one decrypts, so a key
can be rotated by putting a new one first. Without it a key is derived from SECRET_KEY, which
keeps development working but ties the stored secrets to that key.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> MultiFernet:
    keys = list(settings.SECRETS_ENCRYPTION_KEYS)
    if not keys:
        digest = hashlib.sha256(b"tempusmail-secrets:" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"SECRETS_ENCRYPTION_KEYS: {exc}") from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext; a token no configured key opens is a configuration error, said clearly."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "a stored secret cannot be decrypted with SECRETS_ENCRYPTION_KEYS"
        ) from None
