"""manage.py verify_backend [--repair]: compare every account's desired state with what the
mail directory holds (rows, aliases, forwards, Sieve script on disk, sending limit in Redis).

Prints one line per difference and exits 1 if there is any; --repair re-enqueues the drifted
accounts (with a new version, so even a directory holding a "newer" state is overwritten).
Mailboxes in the directory that the panel does not know are reported, never removed: the
directory may be shared, and deleting mail is not a repair.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import services, sync
from accounts.models import EmailAccount
from domains.models import Verification
from tempusmail.mailbackend import get_backend
from tempusmail.mailbackend.dovecot import (
    MAILBOX_COLUMNS,
    DovecotBackend,
    forward_targets,
    mailbox_row,
)


class Command(BaseCommand):
    help = "Compare the panel's accounts with the mail directory; exit 1 on any drift."

    def add_arguments(self, parser):
        parser.add_argument(
            "--repair", action="store_true", help="re-enqueue every drifted account"
        )

    def handle(self, *args, repair: bool = False, **options):
        backend = get_backend()
        if not isinstance(backend, DovecotBackend):
            raise CommandError(f"MAIL_BACKEND is {settings.MAIL_BACKEND!r}, not 'dovecot'")
        with backend.connect() as db:
            held = backend.held(db)
        limits = self.limits(backend, list(held))
        drifted: list[EmailAccount] = []
        differences = 0
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
                self.stdout.write(f"{account.address}: {line}")
            if found:
                differences += len(found)
                drifted.append(account)
        for address in sorted(held):
            differences += 1
            self.stdout.write(f"{address}: in the mail directory but not in the panel")
        if repair and drifted:
            services.resync(accounts=drifted)
            self.stdout.write(f"re-enqueued {len(drifted)} account(s)")
        if differences:
            self.stderr.write(f"{differences} difference(s) in {len(drifted)} account(s)")
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS("no drift"))

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
        try:
            on_disk = backend.sieve_path(account.address).read_text()
        except OSError:
            on_disk = None
        if on_disk != want["sieve"]:
            found.append("Sieve script on disk differs")
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
        values = store.client().mget([store.limit_key(a) for a in addresses])
        return {
            a: int(v) if v is not None else None for a, v in zip(addresses, values, strict=True)
        }
