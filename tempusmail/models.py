"""Shared model pieces: the desired/applied version pair every provisioned object carries."""

from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    UPDATING = "updating", _("Updating")
    ONLINE = "online", _("Online")
    OFFLINE = "offline", _("Offline")
    # An account of a domain whose ownership is not verified yet: nothing of it is live.
    WAITING = "waiting", _("Waiting for domain verification")


class Provisioned(models.Model):
    """An object whose full state a worker pushes to the mail system (DESIGN.md, status)."""

    desired_version = models.PositiveBigIntegerField(default=1)
    applied_version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_applied(self) -> bool:
        return self.applied_version >= self.desired_version

    def bump_fields(self) -> dict:
        """Update kwargs that mark a change the mail system must learn (one SQL UPDATE)."""
        return {"desired_version": F("desired_version") + 1, "changed_at": timezone.now()}
