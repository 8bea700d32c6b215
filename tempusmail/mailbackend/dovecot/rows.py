"""An AccountState as mail-directory rows."""

import unicodedata

from ..base import AccountState
from .sieve import sieve_script

# Characters without an ASCII decomposition that people type in reply texts.
ASCII_SPELLING = str.maketrans(
    {
        "«": '"',
        "»": '"',
        "“": '"',
        "”": '"',
        "„": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "–": "-",
        "—": "-",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "þ": "th",
        "Þ": "Th",
        "€": "EUR",
    }
)


def smtp_reply_text(text: str, limit: int = 400) -> str:
    """One line of printable ASCII, as close to the text as ASCII gets ("è" -> "e").

    SMTP reply text is ASCII (RFC 5321). Postfix 3.7 with smtputf8_enable = no replaces each
    byte of a UTF-8 character by a space ("non    pi   attiva"); with it on, Postfix passes
    UTF-8 to every client, but then also accepts SMTPUTF8 mail that it cannot hand to
    Dovecot 2.3's LMTP (which does not offer SMTPUTF8) and bounces it. So the reply is ASCII."""
    text = " ".join(text.split()).translate(ASCII_SPELLING)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c if " " <= c <= "~" else "?" for c in text)[:limit]


def dovecot_password(django_hash: str) -> str:
    """Django stores "argon2$argon2id$v=19$m=..,t=..,p=..$salt$hash"; Dovecot verifies the
    PHC string after the "argon2" prefix under {ARGON2ID}. Anything else cannot log in."""
    algorithm, _sep, phc = django_hash.partition("$")
    if algorithm == "argon2" and phc.startswith("argon2id$"):
        return "{ARGON2ID}$" + phc
    return "!"  # unusable (e.g. a PBKDF2 hash awaiting upgrade at the next panel login)


def mailbox_row(state: AccountState) -> dict:
    local, _at, domain = state.address.partition("@")
    return {
        "address": state.address,
        "domain": domain,
        "local_part": local,
        "password": dovecot_password(state.password_hash),
        "active": int(state.active),
        "quota_bytes": state.quota_bytes,
        "imap": int("imap" in state.services),
        "pop3": int("pop" in state.services),
        "smtp": int("smtp" in state.services),
        "webmail": int("webmail" in state.services),
        "dav": int("dav" in state.services),
        "xmpp": int("xmpp" in state.services),
        "activesync": int("activesync" in state.services),
        "allow_nets": ",".join(state.allowed_networks),
        "reject_all": int(state.reject_all),
        # One SMTP reply line: what a rejected sender sees.
        "reject_text": smtp_reply_text(state.reject_message),
        "send_limit": state.daily_send_limit,
        "sieve": sieve_script(state),
        "version": state.version,
        "account_id": state.identity,
    }


def forward_targets(state: AccountState) -> list[str]:
    if not state.forward_to:
        return []
    keep = [state.address] if state.forward_keep_copy else []
    return sorted(set(state.forward_to) | set(keep))
