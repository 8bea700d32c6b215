"""The audit log writer, below every app. A middleware records who is acting (user, IP, web
or API) in a context variable, so services call audit(...) without passing the request
along. The events are security.AuditEvent rows, shown in the security app's audit views."""

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings

from .net import _parse

SECRET_WORDS = ("password", "secret", "hash", "token", "key", "otp")


@dataclass
class Actor:
    request: Any = None
    user: Any = None
    ip: str | None = None
    via: str = "web"

    def who(self):
        user = self.user
        if user is None and self.request is not None:
            user = getattr(self.request, "user", None)
        return user if getattr(user, "is_authenticated", False) else None


_actor: ContextVar[Actor | None] = ContextVar("tempusmail_actor", default=None)


def set_actor(actor: Actor | None):
    return _actor.set(actor)


def reset_actor(token) -> None:
    _actor.reset(token)


def current_actor() -> Actor | None:
    return _actor.get()


def public_fields(fields) -> list[str]:
    """Field names that may be written to the log (never a secret's name or value)."""
    return sorted(
        str(f)[:64] for f in fields or () if not any(w in str(f).lower() for w in SECRET_WORDS)
    )


def _organization_id(obj) -> int | None:
    for attr in ("organization_id",):
        if getattr(obj, attr, None):
            return getattr(obj, attr)
    domain = getattr(obj, "domain", None)
    return getattr(domain, "organization_id", None)


def audit(
    *,
    action: str,
    obj=None,
    fields=(),
    organization_id: int | None = None,
    user=None,
    actor_email: str = "",
):
    """Record one change. Safe to call from any service; it never raises into the caller's
    business logic for lack of a request (then the actor is "system"). `actor_email` names an
    actor that is no user (a sign-in name nobody has)."""
    event = _event(
        action=action,
        obj=obj,
        fields=fields,
        organization_id=organization_id,
        user=user,
        actor_email=actor_email,
    )
    event.save(force_insert=True)
    return event


def audit_many(*, action: str, changes: list[tuple[Any, list[str]]]) -> None:
    """audit() for several objects, (object, fields changed) each, in one INSERT."""
    if changes:
        model = apps.get_model(settings.AUDIT_EVENT_MODEL)
        model.objects.bulk_create(
            [_event(action=action, obj=obj, fields=fields) for obj, fields in changes]
        )


def _event(
    *,
    action: str,
    obj=None,
    fields=(),
    organization_id: int | None = None,
    user=None,
    actor_email: str = "",
):
    # The model is named in settings (like AUTH_USER_MODEL): the writer sits below every app.
    event_model = apps.get_model(settings.AUDIT_EVENT_MODEL)
    actor = current_actor() or Actor(via="system")
    who = user or actor.who()
    return event_model(
        organization_id=organization_id or (_organization_id(obj) if obj is not None else None),
        actor=who,
        actor_email=getattr(who, "email", "") or actor_email,
        ip=str(_parse(actor.ip or "") or "") or None,
        via=actor.via,
        action=action[:64],
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or "")[:64],
        object_repr=str(obj)[:320] if obj is not None else "",
        fields=public_fields(fields),
    )
