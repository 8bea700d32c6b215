"""Domain name rules: IDNA 2008 (UTS #46) to punycode, then DNS length and label rules."""

import re

import idna
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_domain_name(value: str) -> str:
    """Return the ASCII (punycode) form of a domain name, or raise a ValidationError."""
    name = (value or "").strip().rstrip(".").lower()
    if not name or "\x00" in name or len(name) > 253:
        raise ValidationError(_("Enter a valid domain name, e.g. example.com."))
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise ValidationError(_("Enter a valid domain name, e.g. example.com.")) from None
    labels = ascii_name.split(".")
    if (
        len(labels) < 2
        or len(ascii_name) > 253
        or not all(LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationError(_("Enter a valid domain name, e.g. example.com."))
    return ascii_name
