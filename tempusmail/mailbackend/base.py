"""The contract between the panel and a mail system (DESIGN.md, "The mail backend adapter")."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

SERVICES = ("pop", "imap", "smtp", "webmail", "activesync", "dav", "xmpp")


@dataclass(frozen=True)
class Autoresponder:
    subject: str
    body: str
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class DkimKey:
    """A domain's DKIM key: the active one signs; retired-but-kept ones stay published."""

    selector: str
    private_key_pem: str
    active: bool


@dataclass(frozen=True)
class DomainState:
    """A verified domain (pending ones never reach the mail system).

    default_aliases: (address, target) pairs of the domain delivered to the target unless a
    mailbox or an account's alias holds the address (abuse@ to the provider, postmaster@ and
    support@ to the organization's owner until an account takes them over)."""

    name: str
    active: bool
    version: int
    dkim_keys: tuple[DkimKey, ...] = ()
    default_aliases: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AccountState:
    """Everything the mail system must know about one mailbox; pushed whole, never as a diff."""

    address: str
    password_hash: str  # Django's argon2 encoding; adapters convert it to the PHC string
    active: bool
    quota_bytes: int
    services: frozenset[str]
    allowed_networks: tuple[str, ...]
    forward_to: tuple[str, ...]
    forward_keep_copy: bool
    aliases: tuple[str, ...]
    autoresponder: Autoresponder | None
    spam_to_inbox: bool
    reject_all: bool
    reject_message: str
    daily_send_limit: int
    version: int
    # The panel row's id. Versions count per row, so a mailbox deleted and created again on
    # the same address starts again at 1: the adapters compare (identity, version), and a
    # push or removal of an older row (a lower id) never touches a newer one. 0: unknown.
    identity: int = 0


def is_stale(*, held: tuple[int, int], pushed: tuple[int, int]) -> bool:
    """Is a pushed (identity, version) older than the held one? Ids only order when both are
    known (rows written before identities were carried hold 0); then versions decide."""
    held_id, held_version = held
    pushed_id, pushed_version = pushed
    if held_id and pushed_id and held_id != pushed_id:
        return held_id > pushed_id
    return held_version > pushed_version


def removes(*, held_identity: int, identity: int) -> bool:
    """May a removal for row `identity` take the mailbox the directory holds? Not when it
    belongs to another (newer) row of the same address."""
    return not (held_identity and identity and held_identity != identity)


@dataclass(frozen=True)
class GroupState:
    """A group address and the mailboxes it expands to (its active members), pushed whole."""

    address: str
    members: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class Usage:
    """What the mail system reports; None where it could not be read this time."""

    storage_bytes: int | None = 0
    last_login: datetime | None = None
    sent_24h: int | None = 0


class MailBackend(Protocol):
    def apply_domain(self, state: DomainState) -> None: ...

    def remove_domain(self, name: str) -> None: ...

    def apply_account(self, state: AccountState) -> None:
        """Idempotent upsert; a state older than the one held (by identity, then version) is
        ignored. The one-state case of apply_accounts."""

    def apply_accounts(self, states: list[AccountState]) -> list[AccountState]:
        """apply_account for several mailboxes of distinct addresses at once (one directory
        transaction, one auth cache flush per host): each state is applied or, if older than
        the one held, ignored on its own. Returns the states applied, in the order given. All
        or nothing on failure: an error is raised for the whole batch (retried whole)."""

    def remove_account(self, address: str, *, identity: int = 0) -> None:
        """Purge the mailbox, unless it belongs to another row than `identity` (0: any)."""

    def usage(self, addresses: list[str]) -> dict[str, Usage]: ...

    def sent_per_day(
        self, domains: list[str], days: list[date]
    ) -> dict[tuple[str, date], int] | None:
        """Messages each domain sent per day; None when the counters could not be read."""

    def open_mailbox(self, address: str):
        """An authenticated imaplib session on the mailbox (imports write through it)."""

    def apply_group(self, state: GroupState) -> None:
        """Idempotent upsert of the expansion; a state older than the one held is ignored."""

    def remove_group(self, address: str) -> None: ...


@dataclass
class BackendError(Exception):
    """A push that failed; the message is shown to staff as the account's last error."""

    message: str
    details: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message
