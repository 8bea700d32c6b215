"""Passwords of external mailboxes, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The import job needs the password again at every sync, so it cannot be hashed: it is
encrypted with the keys in EXTERNAL_MAIL_KEYS (newest first; MultiFernet decrypts with any of
them and encrypts with the first). Rotation: put a new key first, run
`manage.py rotate_mail_secrets`, then remove the old key. Without keys (development) one key is
derived from SECRET_KEY. The panel never shows a stored password again.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _keys() -> list[bytes]:
    keys = [k.encode() for k in settings.EXTERNAL_MAIL_KEYS]
    if not keys:
        digest = hashlib.sha256(b"tempusmail external mail:" + settings.SECRET_KEY.encode())
        keys = [base64.urlsafe_b64encode(digest.digest())]
    return keys


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys()])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode("ascii")


def decrypt(token: str) -> str | None:
    """The secret, or None when no configured key opens it (a key was removed too early)."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        return None


def rotate(token: str) -> str | None:
    """The same secret encrypted with the newest key; None when no configured key opens it."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError):
        return None


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")
