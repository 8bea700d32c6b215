"""Template helpers: dates in the user's own formats, stored signatures as HTML."""

from django import template
from django.utils import dateformat, timezone
from django.utils.safestring import mark_safe

from webmail_settings.sanitize import sanitize_html

register = template.Library()

DEFAULT_FORMATS = ("d/m/Y", "H:i")


def _formats(context) -> tuple[str, str]:
    account = context.get("account") or context.get("mailbox")
    if account is not None and hasattr(account, "date_format"):
        return account.date_format, account.time_format
    return DEFAULT_FORMATS


@register.simple_tag(takes_context=True)
def user_datetime(context, value) -> str:
    """A datetime in the active (user's) time zone and the account's date and time formats."""
    if not value:
        return ""
    date_format, time_format = _formats(context)
    return dateformat.format(timezone.localtime(value), f"{date_format} {time_format}")


@register.filter
def signature_html(value: str) -> str:
    """Stored signatures are sanitized on save; sanitizing again on output is cheap insurance."""
    return mark_safe(sanitize_html(value or ""))  # noqa: S308 - nh3 allow-list output
