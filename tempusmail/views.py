"""Project-wide helpers for views."""

from django.core.exceptions import ValidationError
from django.forms import Form


def add_service_error(form: Form, error: ValidationError) -> None:
    """Show a service's refusal on the form that caused it."""
    form.add_error(None, error)


def role_flags(role: str | None) -> dict[str, bool]:
    from domains.models import Role

    return {"can_write": role in (Role.OWNER, Role.OPERATOR), "can_manage": role == Role.OWNER}
