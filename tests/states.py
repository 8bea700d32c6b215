"""The one builder of adapter states for tests that push straight through an adapter."""

from tempusmail.mailbackend import AccountState

# An argon2id hash in Django's format (not of a known password: for tests that never log in).
HASH = "argon2$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


def account_state(address: str = "ann@a.example", version: int = 1, **changes) -> AccountState:
    """An active mailbox with IMAP, POP3 and SMTP, 10 MiB, nothing forwarded; `changes`
    override any field."""
    values = {
        "password_hash": HASH,
        "active": True,
        "quota_bytes": 10 * 2**20,
        "services": frozenset({"imap", "pop", "smtp"}),
        "allowed_networks": (),
        "forward_to": (),
        "forward_keep_copy": True,
        "aliases": (),
        "autoresponder": None,
        "spam_to_inbox": False,
        "reject_all": False,
        "reject_message": "",
        "daily_send_limit": 50,
    }
    return AccountState(address=address, version=version, **{**values, **changes})
