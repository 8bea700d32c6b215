"""Re-encrypt the stored passwords of external mailboxes with the newest key.

Rotation: put a new key first in EXTERNAL_MAIL_KEYS (keep the old ones after it), restart,
run this command, then remove the old keys. Exits 1 if a password could not be read with any
configured key (its user must enter it again)."""

from django.core.management.base import BaseCommand, CommandError

from webmail_settings import crypto
from webmail_settings.models import ExternalMailbox


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def handle(self, *args, **options):
        rotated = unreadable = 0
        rows = ExternalMailbox.objects.values_list("pk", "password_encrypted")
        for pk, token in rows.iterator():
            fresh = crypto.rotate(token)
            if fresh is None:
                unreadable += 1
                continue
            # Only if nobody changed the password meanwhile.
            rotated += ExternalMailbox.objects.filter(pk=pk, password_encrypted=token).update(
                password_encrypted=fresh
            )
        self.stdout.write(f"{rotated} passwords re-encrypted, {unreadable} unreadable")
        if unreadable:
            raise CommandError(f"{unreadable} passwords open with no configured key")
