"""The import job: copy every folder and message of an external mailbox into the user's own,
then bring only what is new at each later sync.

Why our own IMAP copy and not `doveadm sync` with imapc: imapc connects to the name it is
given, so it could not be pinned to the address our SSRF check vetted while still verifying
the certificate against the typed name; it reports no progress we could show; it maps no
folder names; and a two-way or backup sync may delete mail in the user's mailbox. Here the
external side is only read (EXAMINE, BODY.PEEK), and the user's mailbox is only appended to,
through Dovecot itself (the adapter's `open_mailbox`: `doveadm exec imap`), with each message's
flags and received date.

No duplicates: per external folder we keep its UIDVALIDITY and the highest UID copied, and
ask only for UIDs above it. A batch is marked pending before it is appended: a job that died
in between compares those messages with the user's folder (received date, size, Message-ID)
before copying them again; so does a folder whose UIDVALIDITY changed.
"""

import base64
import contextlib
import imaplib
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tempusmail.mailbackend import BackendError, get_backend

from . import crypto
from .models import ExternalFolder, ExternalMailbox, SyncState
from .remote import RemoteError, Server, open_imap

log = logging.getLogger(__name__)

BATCH_MESSAGES = 100
BATCH_BYTES = 8 * 1024 * 1024
META_CHUNK = 500
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
LEASE = timedelta(minutes=10)

# --- modified UTF-7 (RFC 3501 5.1.3), the encoding of IMAP folder names --------------------


def decode_mutf7(name: str) -> str:
    def run(match: re.Match) -> str:
        text = match.group(1)
        if not text:
            return "&"
        raw = base64.b64decode(text.replace(",", "/") + "=" * (-len(text) % 4))
        return raw.decode("utf-16-be")

    return re.sub(r"&([A-Za-z0-9+,]*)-", run, name)


def encode_mutf7(name: str) -> str:
    out, pending = [], []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- folders and their names ----------------------------------------------------------------

LIST_LINE = re.compile(rb'^\((?P<attrs>[^)]*)\) (?P<delim>NIL|"(?:\\.|[^"\\])*") (?P<name>.*)$')
SKIPPED_USES = {"\\all", "\\flagged", "\\important", "\\noselect", "\\nonexistent"}
SPECIAL_USES = {
    "\\sent": "sent",
    "\\junk": "junk",
    "\\trash": "trash",
    "\\drafts": "drafts",
    "\\archive": "archive",
}
KNOWN_NAMES = {
    "sent": {
        "sent",
        "sent items",
        "sent messages",
        "sent mail",
        "posta inviata",
        "inviati",
        "elementi inviati",
        "gesendet",
        "gesendete elemente",
        "envoyés",
        "enviados",
    },
    "junk": {"junk", "spam", "junk e-mail", "junk email", "bulk mail", "posta indesiderata"},
    "trash": {
        "trash",
        "deleted items",
        "deleted messages",
        "bin",
        "cestino",
        "posta eliminata",
        "elementi eliminati",
        "papierkorb",
        "corbeille",
    },
    "drafts": {"drafts", "bozze", "entwürfe", "brouillons", "borradores"},
}
CANONICAL = {
    "inbox": "INBOX",
    "sent": "Sent",
    "junk": "Junk",
    "trash": "Trash",
    "drafts": "Drafts",
    "archive": "Archive",
}


@dataclass
class Folder:
    name: str  # as the server sends it (modified UTF-7)
    delimiter: str | None
    attributes: set[str] = field(default_factory=set)

    @property
    def role(self) -> str | None:
        """inbox, sent, junk, trash, drafts, archive, or None for a folder of the user's."""
        if self.name.upper() == "INBOX":
            return "inbox"
        for attr in self.attributes:
            if attr in SPECIAL_USES:
                return SPECIAL_USES[attr]
        parts = self.parts
        top = len(parts) == 1 or (len(parts) == 2 and parts[0].lower() in ("[gmail]", "inbox"))
        if top:
            last = decode_mutf7(parts[-1]).lower()
            for role, names in KNOWN_NAMES.items():
                if last in names:
                    return role
        return None

    @property
    def parts(self) -> list[str]:
        return self.name.split(self.delimiter) if self.delimiter else [self.name]

    @property
    def selectable(self) -> bool:
        return not (self.attributes & SKIPPED_USES)


def parse_list(data: list) -> list[Folder]:
    """imaplib's LIST answer: lines, or (line, literal) pairs for names sent as literals."""
    folders = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            line, name = item[0], item[1]
            match = LIST_LINE.match(line.rstrip() + b" X")
        else:
            match = LIST_LINE.match(item)
            name = match.group("name") if match else None
        if match is None or name is None:
            continue
        delim = match.group("delim")
        delimiter = None if delim == b"NIL" else _unquote(delim)
        text = (
            _unquote(name.strip())
            if isinstance(name, bytes) and name.startswith(b'"')
            else (name.decode("utf-8", "replace").strip())
        )
        if not text or not text.isascii() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
            log.info("skipping a folder whose name is not modified UTF-7: %r", text)
            continue  # IMAP4rev1 names are 7-bit; anything else we could not quote safely
        attributes = {a.lower() for a in match.group("attrs").decode("ascii", "replace").split()}
        folders.append(Folder(text, delimiter, attributes))
    return folders


def _unquote(value: bytes) -> str:
    text = value.decode("utf-8", "replace")
    if text.startswith('"') and text.endswith('"'):
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def personal_prefix(client: imaplib.IMAP4) -> str:
    """The personal namespace's prefix (Courier's "INBOX."), stripped from folder names."""
    if "NAMESPACE" not in client.capabilities:
        return ""
    with contextlib.suppress(imaplib.IMAP4.error):
        typ, data = client.namespace()
        match = re.match(rb'\(\("([^"]*)"', data[0] or b"") if typ == "OK" else None
        if match and match.group(1).upper() != b"":
            return match.group(1).decode("utf-8", "replace")
    return ""


@dataclass
class Destination:
    """The user's own mailbox: its delimiter and special-use folders."""

    delimiter: str
    special: dict[str, str]
    existing: set[str]

    def target(self, folder: Folder, prefix: str) -> str:
        role = folder.role
        if role:
            return self.special.get(role) or CANONICAL[role]
        parts = folder.parts
        if prefix and folder.delimiter:
            stripped = prefix.rstrip(folder.delimiter).split(folder.delimiter)
            if parts[: len(stripped)] == stripped and len(parts) > len(stripped):
                parts = parts[len(stripped) :]
        if parts and parts[0].lower() == "[gmail]" and len(parts) > 1:
            parts = parts[1:]
        clean = [encode_mutf7(decode_mutf7(p).replace(self.delimiter, "_")) for p in parts if p]
        return self.delimiter.join(clean) or "INBOX"


def open_destination(client: imaplib.IMAP4) -> Destination:
    typ, data = client.list()
    if typ != "OK":
        raise RemoteError("mailbox", detail=_text(data))
    folders = parse_list(data)
    delimiter = next((f.delimiter for f in folders if f.delimiter), ".")
    special = {}
    for folder in folders:
        for attr in folder.attributes:
            if attr in SPECIAL_USES:
                special.setdefault(SPECIAL_USES[attr], folder.name)
    return Destination(delimiter, special, {f.name for f in folders})


def ensure_folder(client: imaplib.IMAP4, destination: Destination, name: str) -> None:
    if name in destination.existing or name.upper() == "INBOX":
        return
    typ, data = client.create(quote(name))
    if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(d or b"" for d in data):
        raise RemoteError("mailbox", detail=_text(data))
    with contextlib.suppress(imaplib.IMAP4.error):
        client.subscribe(quote(name))
    destination.existing.add(name)


# --- messages -------------------------------------------------------------------------------

# A system flag or a keyword: atom characters only (no literal, quote or list syntax), so
# nothing an external server sends can change the meaning of our APPEND command.
FLAG_ATOM = re.compile(r"^\\?[A-Za-z0-9$_.\-+!#&'~^`|@,;:<=>?/]+$")
META = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)|FLAGS \(([^)]*)\)|INTERNALDATE (\"[^\"]*\")")


@dataclass
class Message:
    uid: int
    size: int = 0
    flags: list[str] = field(default_factory=list)
    date: str = ""
    body: bytes | None = None

    @property
    def deleted(self) -> bool:
        return "\\deleted" in (f.lower() for f in self.flags)


def _meta(line: bytes, message: Message) -> None:
    for uid, size, flags, date in META.findall(line):
        if uid:
            message.uid = int(uid)
        if size:
            message.size = int(size)
        if flags:
            message.flags = [
                f for f in flags.decode("ascii", "replace").split() if FLAG_ATOM.match(f)
            ]
        if date:
            message.date = date.decode("ascii")


def fetch_meta(client: imaplib.IMAP4, uids: list[int]) -> list[Message]:
    typ, data = client.uid("FETCH", uid_set(uids), "(UID RFC822.SIZE FLAGS INTERNALDATE)")
    if typ != "OK":
        raise imaplib.IMAP4.error(_text(data))
    found = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not line:
            continue
        message = Message(uid=0)
        _meta(line, message)
        if message.uid:
            found[message.uid] = message
    return [found[uid] for uid in sorted(found)]


def fetch_bodies(client: imaplib.IMAP4, messages: list[Message]) -> None:
    wanted = {m.uid: m for m in messages}
    typ, data = client.uid("FETCH", uid_set(list(wanted)), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise imaplib.IMAP4.error(_text(data))
    current: tuple[bytes, bytes] | None = None

    def finish(prefix: bytes, body: bytes, trailer: bytes) -> None:
        probe = Message(uid=0)
        _meta(prefix + b" " + trailer, probe)
        if probe.uid in wanted:
            wanted[probe.uid].body = body

    for item in data:
        if isinstance(item, tuple):
            if current is not None:
                finish(current[0], current[1], b"")
            current = (item[0], item[1])
        elif current is not None:
            finish(current[0], current[1], item or b"")
            current = None
    if current is not None:
        finish(current[0], current[1], b"")


def uid_set(uids: list[int]) -> str:
    """1,2,3,5 → 1:3,5"""
    ranges, start, prev = [], None, None
    for uid in sorted(uids):
        if start is None:
            start = prev = uid
        elif uid == prev + 1:
            prev = uid
        else:
            ranges.append(f"{start}:{prev}" if start != prev else str(start))
            start = prev = uid
    if start is not None:
        ranges.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(ranges)


def append_flags(message: Message) -> str:
    return " ".join(f for f in message.flags if f.lower() != "\\recent")


def multiappend(client: imaplib.IMAP4, mailbox: str, messages: list[Message]) -> None:
    """One APPEND of several messages (MULTIAPPEND, RFC 3502) with non-synchronizing
    literals (LITERAL+, RFC 7888): one round trip per batch instead of two per message.
    imaplib has neither, so the command is written here on its tag machinery."""
    tag = client._new_tag()
    parts = [tag + b" APPEND " + quote(mailbox).encode()]
    for message in messages:
        date = f" {message.date}" if message.date else ""
        head = f" ({append_flags(message)}){date} {{{len(message.body)}+}}\r\n"
        parts += [head.encode("ascii"), message.body]
    parts.append(b"\r\n")
    client.send(b"".join(parts))
    typ, data = client._command_complete("APPEND", tag)
    if typ != "OK":
        raise AppendRefused(_text(data))


class AppendRefused(Exception):
    @property
    def over_quota(self) -> bool:
        return "OVERQUOTA" in str(self).upper() or "QUOTA" in str(self).upper()


def _text(data) -> str:
    parts = []
    for item in data or ():
        if isinstance(item, tuple):
            item = item[0]
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if item:
            parts.append(str(item))
    return " ".join(parts)[:200]


MESSAGE_ID = re.compile(rb"^Message-ID:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def identity(date: str, size: int, header: bytes) -> tuple[int, int, str]:
    """Received time (as a timestamp: a server may show it in another zone), size and
    Message-ID: a message copied before has all three."""
    parsed = imaplib.Internaldate2tuple(b"INTERNALDATE " + date.encode()) if date else None
    found = MESSAGE_ID.search(header or b"")
    message_id = found.group(1).decode("utf-8", "replace") if found else ""
    return (int(time.mktime(parsed)) if parsed else 0, size, message_id)


def imap_size(body: bytes) -> int:
    """RFC822.SIZE as a server counts it: every line ending as CRLF."""
    return len(body) + body.count(b"\n") - body.count(b"\r\n")


def destination_identities(client: imaplib.IMAP4, mailbox: str) -> set[tuple[str, int, str]]:
    """What the user's folder already holds, to recognize a message copied before."""
    typ, data = client.select(quote(mailbox), readonly=True)
    if typ != "OK" or int((data or [b"0"])[0] or 0) == 0:
        return set()
    typ, data = client.fetch(
        "1:*", "(INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
    )
    found = set()
    for item in data if typ == "OK" else ():
        if isinstance(item, tuple):
            probe = Message(uid=0)
            _meta(item[0], probe)
            found.add(identity(probe.date, probe.size, item[1]))
    if "UNSELECT" in client.capabilities:
        client.unselect()
    else:
        client.close()
    return found


# --- the job --------------------------------------------------------------------------------


class Stop(Exception):
    """The connection was paused, disconnected or lost its service while the job ran."""


def claim(mailbox_id: int) -> bool:
    """Take the connection's lease: one job at a time, and none for a paused or stopped one."""
    now = timezone.now()
    return bool(
        ExternalMailbox.objects.filter(pk=mailbox_id, paused=False)
        .exclude(state=SyncState.STOPPED)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )


def due_connections(*, now=None) -> list[int]:
    """Connections whose next sync is due and that no job holds."""
    now = now or timezone.now()
    return list(
        ExternalMailbox.objects.filter(next_sync_at__lte=now, paused=False)
        .exclude(state=SyncState.STOPPED)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_sync_at")
        .values_list("pk", flat=True)[:1000]
    )


def sync(*, mailbox_id: int) -> str:
    """Run one sync of the connection, if nobody else is running it. Returns the end state."""
    if not claim(mailbox_id):
        return "busy"
    connection = ExternalMailbox.objects.select_related("account", "service").get(pk=mailbox_id)
    job = Job(connection)
    try:
        job.run()
    except Stop:
        pass
    except RemoteError as exc:
        job.fail(exc)
    except Exception as exc:  # noqa: BLE001 - recorded for the user; logged in full here
        log.exception("import of external mailbox %s failed", mailbox_id)
        job.fail(RemoteError("error", detail=_readable(exc)))
    finally:
        job.close()
    state = ExternalMailbox.objects.filter(pk=mailbox_id).values_list("state", flat=True).first()
    return state or "gone"


def _readable(exc: BaseException) -> str:
    text = " ".join(
        a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in exc.args
    )
    return (text or type(exc).__name__)[:200]


class Job:
    def __init__(self, connection: ExternalMailbox) -> None:
        self.connection = connection
        self.source: imaplib.IMAP4 | None = None
        self.target: imaplib.IMAP4 | None = None
        self.started = time.monotonic()
        self.done = 0

    # -- bookkeeping --

    def _update(self, **values) -> None:
        self._write(**values)
        self._check()

    def _write(self, **values) -> None:
        """Write progress and renew the lease."""
        values["lease_until"] = timezone.now() + LEASE
        if not ExternalMailbox.objects.filter(pk=self.connection.pk).update(**values):
            raise Stop()  # disconnected

    def _check(self) -> None:
        """Stop if the connection was paused, disconnected or lost its service meanwhile
        (outside any transaction: the paused state must stay written)."""
        row = (
            ExternalMailbox.objects.filter(pk=self.connection.pk)
            .values("paused", "state", "service_id", "manual")
            .first()
        )
        if row is None:
            raise Stop()
        if row["paused"]:
            ExternalMailbox.objects.filter(pk=self.connection.pk).update(
                state=SyncState.PAUSED, lease_until=None
            )
            raise Stop()
        if row["state"] == SyncState.STOPPED or (not row["manual"] and row["service_id"] is None):
            raise Stop()

    def fail(self, error: RemoteError) -> None:
        now = timezone.now()
        ExternalMailbox.objects.filter(pk=self.connection.pk).exclude(
            state=SyncState.STOPPED
        ).update(
            state=SyncState.FAILED,
            last_error_code=error.code,
            last_error_params=error.params,
            last_error_at=now,
            next_sync_at=now + timedelta(minutes=settings.EXTERNAL_MAIL_SYNC_MINUTES),
        )

    def close(self) -> None:
        for client in (self.source, self.target):
            if client is not None:
                with contextlib.suppress(Exception):
                    client.logout()
        ExternalMailbox.objects.filter(pk=self.connection.pk).update(lease_until=None)

    # -- the run --

    def run(self) -> None:
        connection = self.connection
        servers = connection.servers
        if servers is None:  # the service was deleted
            raise Stop()
        password = crypto.decrypt(connection.password_encrypted)
        if password is None:
            raise RemoteError("password")
        self._update(
            state=SyncState.RUNNING,
            run_started_at=timezone.now(),
            folders_done=0,
            folders_total=0,
            messages_done=0,
            messages_total=0,
            bytes_done=0,
        )
        self.source = open_imap(
            Server(servers.imap_host, servers.imap_port),
            servers.imap_security,
            connection.login,
            password,
        )
        try:
            self.target = get_backend().open_mailbox(connection.account.address)
        except BackendError as exc:
            raise RemoteError("mailbox", detail=str(exc)) from exc
        destination = open_destination(self.target)
        prefix = personal_prefix(self.source)
        typ, data = self.source.list()
        if typ != "OK":
            raise RemoteError(
                "protocol", host=servers.imap_host, port=servers.imap_port, detail=_text(data)
            )
        folders = [f for f in parse_list(data) if f.selectable]
        plan = self.plan(folders, destination, prefix)
        self._update(folders_total=len(plan), messages_total=sum(len(p.uids) for p in plan))
        for step in plan:
            self.copy_folder(step, destination)
            self._update(folders_done=F("folders_done") + 1)
        now = timezone.now()
        self._update(
            state=SyncState.IDLE,
            last_sync_at=now,
            next_sync_at=now + timedelta(minutes=settings.EXTERNAL_MAIL_SYNC_MINUTES),
            last_error_code="",
            last_error_params={},
        )

    def plan(self, folders: list[Folder], destination: Destination, prefix: str) -> list["Step"]:
        """Per folder: the new UIDs (above the last copied), found before copying anything so
        that the progress bar knows the total."""
        steps = []
        for folder in folders:
            typ, data = self.source.select(quote(folder.name), readonly=True)
            if typ != "OK":
                log.info("skipping external folder %r: %s", folder.name, _text(data))
                continue
            uidvalidity = int((self.source.response("UIDVALIDITY")[1] or [b"0"])[-1] or 0)
            state, _created = ExternalFolder.objects.get_or_create(
                mailbox=self.connection,
                source=folder.name,
                defaults={"target": destination.target(folder, prefix)},
            )
            # A new folder state may still meet mail copied before (the same mailbox connected
            # again), and a renumbered folder (new UIDVALIDITY) must be compared in full.
            recheck_all = _created or state.uidvalidity is None
            if state.uidvalidity is not None and state.uidvalidity != uidvalidity:
                state.last_uid = state.pending_uid = 0
                recheck_all = True
            state.uidvalidity = uidvalidity
            state.save(update_fields=["uidvalidity", "last_uid", "pending_uid"])
            typ, data = self.source.uid("SEARCH", f"UID {state.last_uid + 1}:* UNDELETED")
            if typ != "OK":
                raise RemoteError(
                    "protocol", host=self.source.host, port=self.source.port, detail=_text(data)
                )
            uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) > state.last_uid)
            pending_until = state.pending_uid if state.pending_uid > state.last_uid else 0
            steps.append(Step(folder, state, uids, recheck_all, pending_until))
        return steps

    def copy_folder(self, step: "Step", destination: Destination) -> None:
        if not step.uids:
            return
        ensure_folder(self.target, destination, step.state.target)
        known = None
        if step.recheck_all or step.pending_until:
            known = destination_identities(self.target, step.state.target)
        typ, data = self.source.select(quote(step.folder.name), readonly=True)
        if typ != "OK":
            raise RemoteError(
                "protocol", host=self.source.host, port=self.source.port, detail=_text(data)
            )
        for start in range(0, len(step.uids), META_CHUNK):
            metas = fetch_meta(self.source, step.uids[start : start + META_CHUNK])
            for batch in batches(metas):
                self.copy_batch(step, batch, known)

    def copy_batch(self, step: "Step", batch: list[Message], known) -> None:
        state = step.state
        wanted = [m for m in batch if not m.deleted and m.size <= MAX_MESSAGE_BYTES]
        skipped = len(batch) - len(wanted)
        if wanted:
            fetch_bodies(self.source, wanted)
        wanted = [m for m in wanted if m.body is not None]
        if known is not None:
            recheck = [m for m in wanted if step.recheck_all or m.uid <= step.pending_until]
            present = {
                m.uid
                for m in recheck
                if identity(m.date, imap_size(m.body), _header(m.body)) in known
            }
            wanted = [m for m in wanted if m.uid not in present]
        highest = max(m.uid for m in batch)
        ExternalFolder.objects.filter(pk=state.pk).update(pending_uid=highest)
        copied = self.append(state.target, wanted) if wanted else 0
        skipped += len(wanted) - copied
        with transaction.atomic():
            ExternalFolder.objects.filter(pk=state.pk).update(
                last_uid=highest, pending_uid=0, messages=F("messages") + copied
            )
            self._write(
                messages_done=F("messages_done") + len(batch),
                messages_imported=F("messages_imported") + copied,
                messages_skipped=F("messages_skipped") + skipped,
                bytes_done=F("bytes_done") + sum(len(m.body or b"") for m in wanted),
            )
        self._check()
        self.throttle(len(batch))

    def append(self, mailbox: str, messages: list[Message]) -> int:
        """All at once; if the batch is refused, one by one so one bad message (a NUL byte,
        a size limit) is skipped rather than stopping the import. A full mailbox stops it."""
        try:
            multiappend(self.target, mailbox, messages)
            return len(messages)
        except AppendRefused as exc:
            if exc.over_quota:
                raise RemoteError("quota") from exc
        copied = 0
        for message in messages:
            try:
                multiappend(self.target, mailbox, [message])
                copied += 1
            except AppendRefused as exc:
                if exc.over_quota:
                    raise RemoteError("quota") from exc
                log.warning("message %s of %s refused: %s", message.uid, mailbox, exc)
        return copied

    def throttle(self, count: int) -> None:
        """EXTERNAL_MAIL_RATE_LIMIT messages per second at most, to spare the provider."""
        self.done += count
        limit = settings.EXTERNAL_MAIL_RATE_LIMIT
        if limit > 0:
            ahead = self.done / limit - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)


@dataclass
class Step:
    folder: Folder
    state: ExternalFolder
    uids: list[int]
    recheck_all: bool
    pending_until: int


def batches(messages: list[Message]):
    batch, size = [], 0
    for message in messages:
        if batch and (len(batch) >= BATCH_MESSAGES or size + message.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += message.size
    if batch:
        yield batch


def _header(body: bytes) -> bytes:
    end = body.find(b"\r\n\r\n")
    return body[: end if end >= 0 else 65536]
