"""manage.py verify_backend [--repair]: compare what the panel wants with what the mail system
holds and serves.

- every account against its mail-directory rows (mailbox, aliases, forwards), the Sieve script
  the servers read through their dict, and its sending limit in Redis;
- every domain against the directory's domain rows (Postfix accepts mail only for those);
- every group of a verified domain against its expansion (its active members' forward rows);
- what the running Dovecot answers for every account (userdb quota, passdb per protocol),
  asked over its auth socket as IMAP, POP3, SMTP AUTH and LMTP ask: this notices a directory
  the servers cannot read or read stale, which the rows alone cannot show;
- for an SQLite directory, that the servers (their own users) may read the file.

Prints one line per difference and exits 1 if there is any; --repair re-enqueues the drifted
accounts, domains and groups (with a new version, so even a directory holding a "newer" state is
overwritten). Mailboxes and domains in the directory that the panel does not know are
reported, never removed: the directory may be shared, and deleting mail is not a repair.
"""

import stat
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import services, sync
from accounts.models import EmailAccount, Group
from domains import services as domain_services
from domains.models import Domain, Verification
from tempusmail.mailbackend import BackendError, get_backend
from tempusmail.mailbackend.dovecot import (
    MAILBOX_COLUMNS,
    DovecotBackend,
    forward_targets,
    mailbox_row,
)
from tempusmail.mailbackend.dovecot.directory import sqlite_path

PROTOCOLS = {"imap": "imap", "pop": "pop3", "smtp": "smtp"}


class Command(BaseCommand):
    help = "Compare the panel's accounts with the mail directory; exit 1 on any drift."

    def add_arguments(self, parser):
        parser.add_argument(
            "--repair", action="store_true", help="re-enqueue every drifted account and domain"
        )
        parser.add_argument(
            "--rows-only",
            action="store_true",
            help="compare the directory's rows only, without asking the running Dovecot "
            "(for a directory no server reads, e.g. while preparing a new host)",
        )

    def handle(self, *args, repair: bool = False, rows_only: bool = False, **options):
        backend = get_backend()
        if not isinstance(backend, DovecotBackend):
            raise CommandError(f"MAIL_BACKEND is {settings.MAIL_BACKEND!r}, not 'dovecot'")
        self.differences = 0
        try:
            with backend.connect() as db:
                held = backend.held(db)
                held_domains = dict(db.execute("SELECT name, active FROM domain").fetchall())
                held_groups: dict[str, list[str]] = {
                    address: [] for (address,) in db.execute("SELECT address FROM mailgroup")
                }
                for address, target in db.execute(
                    "SELECT address, target FROM forward "
                    "WHERE address IN (SELECT address FROM mailgroup)"
                ):
                    held_groups[address].append(target)
        except BackendError as exc:
            self.report("mail directory", str(exc))
            self.stderr.write("the mail directory cannot be read: nothing else was compared")
            raise SystemExit(1) from exc
        drifted = self.accounts(backend, held)
        drifted_domains = self.domains(held_domains)
        drifted_groups = self.groups(held_groups)
        if not rows_only:
            self.servers(backend)
        if repair and drifted:
            services.resync(accounts=drifted)
            self.stdout.write(f"re-enqueued {len(drifted)} account(s)")
        if repair and drifted_domains:
            domain_services.resync(domains=drifted_domains)
            self.stdout.write(f"re-enqueued {len(drifted_domains)} domain(s)")
        if repair and drifted_groups:
            for group in drifted_groups:
                services.bump_group(group)
            self.stdout.write(f"re-enqueued {len(drifted_groups)} group(s)")
        if self.differences:
            self.stderr.write(
                f"{self.differences} difference(s) in {len(drifted)} account(s) "
                f"and {len(drifted_domains)} domain(s)"
            )
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS("no drift"))

    def report(self, subject: str, line: str) -> None:
        self.differences += 1
        self.stdout.write(f"{subject}: {line}")

    def accounts(self, backend, held) -> list[EmailAccount]:
        limits = self.limits(backend, list(held))
        drifted: list[EmailAccount] = []
        # Accounts of pending domains are not in the mail directory by design.
        accounts = (
            EmailAccount.objects.filter(domain__verification=Verification.VERIFIED)
            .select_related("user", "domain")
            .prefetch_related("aliases__domain")
            .order_by("pk")
        )
        for account in accounts.iterator(chunk_size=500):
            found = self.compare(backend, account, held.pop(account.address, None), limits)
            for line in found:
                self.report(account.address, line)
            if found:
                drifted.append(account)
        for address in sorted(held):
            self.report(address, "in the mail directory but not in the panel")
        return drifted

    def domains(self, held_domains: dict) -> list[Domain]:
        """Postfix accepts mail only for the directory's active domains: a missing row (say a
        domain holding only aliases, after a rebuild) makes outside senders' mail bounce.
        Pending domains are not there by design."""
        drifted = []
        for domain in Domain.objects.filter(verification=Verification.VERIFIED).order_by("pk"):
            active = held_domains.pop(domain.name, None)
            if active is None:
                self.report(f"domain {domain.name}", "missing from the mail directory")
            elif not active:
                self.report(f"domain {domain.name}", "inactive in the mail directory")
            else:
                continue
            drifted.append(domain)
        for name in sorted(held_domains):
            self.report(f"domain {name}", "in the mail directory but not in the panel")
        return drifted

    def groups(self, held_groups: dict[str, list[str]]) -> list[Group]:
        """A group delivers to its active members only: a missing or stale expansion sends
        the group's mail to the wrong people, or bounces it."""
        drifted = []
        groups = Group.objects.filter(domain__verification=Verification.VERIFIED).order_by("pk")
        for group in groups:
            held = held_groups.pop(group.address, None)
            wanted = list(sync.group_state(group).members)
            if held is None:
                self.report(f"group {group.address}", "missing from the mail directory")
            elif sorted(held) != wanted:
                self.report(
                    f"group {group.address}",
                    f"members {', '.join(sorted(held)) or '(none)'} in the mail directory, "
                    f"{', '.join(wanted) or '(none)'} in the panel",
                )
            else:
                continue
            drifted.append(group)
        for address in sorted(held_groups):
            self.report(f"group {address}", "in the mail directory but not in the panel")
        return drifted

    def compare(self, backend, account, row, limits) -> list[str]:
        if account.deleting:
            return ["being deleted"] if row is not None else []
        if row is None:
            return ["missing from the mail directory"]
        state = sync.account_state(account)
        want = mailbox_row(state)
        found = []
        for column in MAILBOX_COLUMNS:
            if row[column] != want[column]:
                shown = "(differs)" if column in ("password", "sieve") else None
                found.append(
                    f"{column} differs"
                    + (
                        f" {shown}"
                        if shown
                        else f": held {row[column]!r}, desired {want[column]!r}"
                    )
                )
        if row["aliases"] != sorted(state.aliases):
            found.append(f"aliases: held {row['aliases']}, desired {sorted(state.aliases)}")
        if row["forwards"] != forward_targets(state):
            found.append(f"forwards: held {row['forwards']}, desired {forward_targets(state)}")
        if row["served_sieve"] != want["sieve"]:
            found.append("Sieve script the servers read differs")
        if limits is not None and limits.get(account.address) != state.daily_send_limit:
            found.append(
                f"sending limit: held {limits.get(account.address)}, "
                f"desired {state.daily_send_limit}"
            )
        return found

    def limits(self, backend, addresses: list[str]) -> dict[str, int | None] | None:
        store = backend.policy_store()
        if store is None or not addresses:
            return None
        try:
            values = store.client().mget([store.limit_key(a) for a in addresses])
        except Exception as exc:  # noqa: BLE001 - reported, the rest is still compared
            self.report("sending limits", f"Redis did not answer: {exc}")
            return None
        return {
            a: int(v) if v is not None else None for a, v in zip(addresses, values, strict=True)
        }

    def servers(self, backend: DovecotBackend) -> None:
        """What Dovecot answers for each live account, against what the panel wants."""
        if backend.url.startswith("sqlite"):
            self.readable(sqlite_path(backend.url))
        accounts = list(
            EmailAccount.objects.filter(deleting=False)
            .order_by("pk")
            .only("address", "is_active", "quota_mb", "services")
        )
        try:
            served = backend.served([a.address for a in accounts])
        except BackendError as exc:
            self.report("mail servers", f"cannot check what Dovecot answers: {exc}")
            return
        for account in accounts:
            answer = served[account.address]
            want_rule = f"*:bytes={account.quota_bytes}"
            if answer["quota_rule"] is None:
                self.report(account.address, "Dovecot does not find it (userdb)")
            elif answer["quota_rule"] != want_rule:
                self.report(
                    account.address,
                    f"Dovecot answers quota {answer['quota_rule']!r}, desired {want_rule!r}",
                )
            want = {p for s, p in PROTOCOLS.items() if s in account.services}
            want = want if account.is_active else set()
            if answer["services"] != want:
                self.report(
                    account.address,
                    f"Dovecot lets it log in to {sorted(answer['services'])}, "
                    f"desired {sorted(want)}",
                )

    def readable(self, path: Path) -> None:
        """Dovecot and Postfix read the SQLite file as their own users: it, its WAL files and
        every directory above must be open to them."""
        files = [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))]
        for item in [*files, *path.parents]:
            try:
                mode = item.stat().st_mode
            except FileNotFoundError:
                continue
            need = stat.S_IXOTH if item.is_dir() else stat.S_IROTH
            if not mode & need:
                self.report("mail directory", f"{item} is not readable by the mail servers")
