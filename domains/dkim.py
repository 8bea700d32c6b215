"""DKIM keys: RSA 2048 made with `cryptography`, the private key encrypted at rest, the public
key shown as the TXT record the domain publishes."""

import base64
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tempusmail import crypto

KEY_BITS = 2048
# DNS carries a TXT record as strings of at most 255 octets; a 2048-bit key's p= alone is 392.
TXT_STRING_MAX = 255


def new_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_b64(private_key_pem: str) -> str:
    """The record's p=: base64 of the DER SubjectPublicKeyInfo (RFC 6376, 3.6.1)."""
    key = serialization.load_pem_private_key(private_key_pem.encode("ascii"), password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def new_key() -> tuple[str, str]:
    """(encrypted private key, public key) for a new DkimKey row."""
    pem = new_private_key_pem()
    return crypto.encrypt(pem), public_key_b64(pem)


def private_key_pem(encrypted: str) -> str:
    return crypto.decrypt(encrypted)


def txt_strings(value: str) -> list[str]:
    """A TXT value as the strings a zone file or a DNS provider's form takes."""
    return [value[i : i + TXT_STRING_MAX] for i in range(0, len(value), TXT_STRING_MAX)] or [""]


def zone_text(value: str) -> str:
    """The value as it is written in a zone file: quoted strings of at most 255 characters."""
    return " ".join(f'"{part}"' for part in txt_strings(value))


def record_key(value: str) -> str:
    """The p= of a DKIM TXT record as published (whitespace removed), or ""."""
    tags = {}
    for part in value.split(";"):
        name, _eq, tag_value = part.partition("=")
        tags[name.strip().lower()] = re.sub(r"\s+", "", tag_value)
    return tags.get("p", "")
