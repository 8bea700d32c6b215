"""Domain name rules: IDNA 2008 (UTS #46) to punycode, then DNS length and label rules; and
which names a tenant may claim at all (not the provider's own, not a public suffix, not a
label that mixes scripts to look like another name)."""

import ipaddress
import re
import unicodedata
from functools import cache

import idna
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from publicsuffixlist import PublicSuffixList

LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_domain_name(value: str) -> str:
    """Return the ASCII (punycode) form of a domain name, or raise a ValidationError."""
    name = (value or "").strip().rstrip(".").lower()
    if _is_ip_literal(name):
        raise ValidationError(
            _("%(value)s is an IP address, not a domain name.") % {"value": name[:60]}
        )
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


def _is_ip_literal(name: str) -> bool:
    candidate = name.strip("[]")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


# --- which names may be claimed -----------------------------------------------------------


@cache
def public_suffixes() -> PublicSuffixList:
    """The Public Suffix List bundled with the `publicsuffixlist` package: read from the
    installed file, never fetched (updating the package updates the list)."""
    return PublicSuffixList()


def normalize_claim(value: str) -> str:
    """A name a tenant may add, in ASCII form: valid, and claimable (check_claimable)."""
    name = (value or "").strip().rstrip(".").lower()
    if name and "." not in name:  # "com": say why, rather than "enter a valid name"
        try:
            ascii_label = idna.encode(name, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            ascii_label = ""
        if ascii_label and public_suffixes().is_public(ascii_label, accept_unknown=False):
            check_claimable(ascii_label)
    ascii_name = normalize_domain_name(value)
    check_claimable(ascii_name)
    return ascii_name


def check_claimable(ascii_name: str) -> None:
    """Refuse, with a message saying why, a name no tenant may claim."""
    root = _provider_root(ascii_name)
    if root:
        raise ValidationError(
            _("%(name)s belongs to this service's provider (%(root)s) and cannot be added.")
            % {"name": _unicode(ascii_name), "root": root}
        )
    if public_suffixes().is_public(ascii_name):
        raise ValidationError(
            _(
                "%(name)s is a public suffix, under which anyone can register names: "
                "add your own domain, e.g. yourcompany.%(name)s."
            )
            % {"name": _unicode(ascii_name)}
        )
    for label in _unicode(ascii_name).split("."):
        scripts = label_scripts(label)
        if not _allowed_combination(scripts):
            raise ValidationError(
                _(
                    "%(label)s mixes letters of different scripts (%(scripts)s), as look-alike "
                    "names do: write every letter of a label in one script."
                )
                % {"label": label, "scripts": ", ".join(sorted(s.title() for s in scripts))}
            )


def provider_roots() -> list[str]:
    """The provider's own names: the registrable domain of the panel and mail hosts (and of
    the host names Django answers to), plus RESERVED_DOMAINS as written."""
    hosts = [
        settings.PANEL_HOST,
        settings.MAIL_HOSTNAME,
        settings.AUTOCONFIG_HOST,
        *settings.DNS_MX_HOSTS,
        *(server["host"] for server in settings.MAIL_CLIENT_SERVERS.values()),
        *(h.lstrip(".") for h in settings.ALLOWED_HOSTS),
    ]
    roots = []
    for host in hosts:
        host = (host or "").strip().rstrip(".").lower()
        if not host or "." not in host or "*" in host or _is_ip_literal(host):
            continue
        root = public_suffixes().privatesuffix(host)
        if root:
            roots.append(root)
    roots += [d for d in settings.RESERVED_DOMAINS if d]
    return sorted(set(roots))


def _provider_root(ascii_name: str) -> str:
    for root in provider_roots():
        if ascii_name == root or ascii_name.endswith("." + root):
            return root
    return ""


def _unicode(ascii_name: str) -> str:
    try:
        return idna.decode(ascii_name)
    except (idna.IDNAError, UnicodeError):
        return ascii_name


# Scripts whose letters legitimately appear together in one label (UTS #39, "Highly
# Restrictive"): Japanese, Chinese with Bopomofo, Korean — each possibly with Latin.
ALLOWED_MIXES = (
    {"LATIN", "HAN", "HIRAGANA", "KATAKANA"},
    {"LATIN", "HAN", "BOPOMOFO"},
    {"LATIN", "HAN", "HANGUL"},
)
SCRIPT_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN"}


def label_scripts(label: str) -> set[str]:
    """The scripts of a label's letters, named as Unicode names them (the first word of
    LATIN SMALL LETTER A, CYRILLIC SMALL LETTER IE, ...). Digits, hyphens and combining marks
    belong to every script and are not counted."""
    scripts = set()
    for char in label:
        if not unicodedata.category(char).startswith("L"):
            continue
        name = unicodedata.name(char, "")
        if not name or name.startswith(("MODIFIER LETTER", "KATAKANA-HIRAGANA")):
            continue
        word = name.split()[0]
        scripts.add(SCRIPT_ALIASES.get(word, word))
    return scripts


def _allowed_combination(scripts: set[str]) -> bool:
    return len(scripts) <= 1 or any(scripts <= allowed for allowed in ALLOWED_MIXES)
