"""The account list's rows: its hot path (50 a page, and the live row it polls while an
account is Updating). Django's template engine spent ~0.33 ms of CPU a row on them, a
precompiled Jinja2 template still ~0.05 ms (mostly escaping ~20 values a row) on top of
model instances built for 14 columns (docs/benchmarks.md, "List pages"). So a row is read
as a plain tuple, what is the same for every row (labels, URL patterns, the date format)
is computed and escaped once a request, and a row is one f-string in which only the
account's own text (address, name) is escaped.

No text is written here: every string a user reads comes through gettext with the msgids
of the Django templates the rows came from, so `makemessages` finds them and the Italian
catalogue applies."""

from collections.abc import Iterable
from html import escape

from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.dateformat import DateFormat, re_escaped, re_formatchars
from django.utils.formats import get_format
from django.utils.safestring import SafeString
from django.utils.timezone import get_current_timezone
from django.utils.translation import gettext, pgettext

from domains.models import Domain
from tempusmail.models import Status

from .models import account_status, usage_percent

# The row's actions post through the one empty form of the page that carries the CSRF token
# (templates/accounts/account_list.html): <button form=… formaction=…>, no JavaScript.
ACTIONS_FORM = "row-actions"

# What a row reads, in this order (`values_list`: no model instances).
ROW_FIELDS = (
    "pk",
    "local_part",
    "first_name",
    "last_name",
    "is_active",
    "deleting",
    "desired_version",
    "applied_version",
    "storage_used_bytes",
    "quota_mb",
    "usage_stale",
    "last_login_at",
    "sent_24h",
    "payment_due_since",
)
_SLOT = 987654321  # stands for the account's pk in a URL reversed once a request


def _pattern(name: str, *args: int) -> tuple[str, str]:
    head, tail = reverse(name, args=[*args, _SLOT]).split(str(_SLOT))
    return escape(head), escape(tail)


class DateFormatter:
    """Django's `dateformat.format` in the active time zone, with the format string split
    once a request instead of once a value (the same output, half the time)."""

    def __init__(self, format_string: str):
        self.zone = get_current_timezone()
        self.pieces = [
            (True, piece) if i % 2 else (False, re_escaped.sub(r"\1", piece))
            for i, piece in enumerate(re_formatchars.split(str(format_string)))
            if piece
        ]

    def format(self, value) -> str:
        date = DateFormat(value.astimezone(self.zone))
        return "".join(str(getattr(date, p)()) if code else p for code, p in self.pieces)


class RowRenderer:
    """Renders a domain's account rows for one request (its language, time zone and role)."""

    def __init__(self, domain: Domain, *, can_write: bool, can_manage: bool):
        self.can_write, self.can_manage = can_write, can_manage
        self.verified = domain.is_verified
        self.domain_name = escape(domain.display_name)
        self.status_labels = {status: escape(str(status.label)) for status in Status}
        self.dates = DateFormatter(get_format("SHORT_DATETIME_FORMAT"))
        self.quotas: dict[int, str] = {}
        self.select_format = escape(gettext("Select %(address)s"))
        self.used_format = escape(gettext("%(percent)s %% used"))
        self.settings_url = _pattern("accounts:settings")
        self.live_url = _pattern("accounts:row", domain.pk)
        self.deactivate_url = _pattern("accounts:deactivate")
        self.reactivate_url = _pattern("accounts:reactivate")
        self.delete_url = _pattern("accounts:delete")
        text = {
            "payment_due": gettext("Payment due"),
            "full": gettext("Full"),
            "not_current": gettext("(not current)"),
            "not_current_help": gettext(
                "The mail server could not be read at the last check: these are the last "
                "known figures."
            ),
            "never": gettext("Never"),
            "more": pgettext("row actions menu", "More"),
            "deactivate": gettext("Deactivate"),
            "reactivate": gettext("Reactivate"),
            "delete": gettext("Delete"),
        }
        self.text = {key: escape(value) for key, value in text.items()}

    def quota(self, mb: int) -> str:
        """A domain offers a few sizes: each is formatted once a request."""
        if mb not in self.quotas:
            self.quotas[mb] = escape(filesizeformat(mb * 1024 * 1024))
        return self.quotas[mb]

    def actions(self, pk: int, is_active: bool) -> str:
        """The owner's "More" menu."""
        text = self.text
        if is_active:
            head, tail = self.deactivate_url
            items = (
                f'<button type="submit" form="{ACTIONS_FORM}" formaction="{head}{pk}{tail}">'
                f"{text['deactivate']}</button>"
            )
        else:
            head, tail = self.reactivate_url
            delete_head, delete_tail = self.delete_url
            items = (
                f'<button type="submit" form="{ACTIONS_FORM}" formaction="{head}{pk}{tail}">'
                f"{text['reactivate']}</button>\n"
                f'        <a href="{delete_head}{pk}{delete_tail}" class="danger">'
                f"{text['delete']}</a>"
            )
        return (
            f'\n    <details class="menu"><summary class="btn small">{text["more"]}</summary>\n'
            f'      <div class="menu-items">\n        {items}\n      </div>\n    </details>'
        )

    def row(self, values: tuple) -> str:
        (
            pk,
            local_part,
            first_name,
            last_name,
            is_active,
            deleting,
            desired_version,
            applied_version,
            used,
            quota_mb,
            stale,
            last_login_at,
            sent_24h,
            payment_due_since,
        ) = values
        text = self.text
        status = account_status(
            deleting=deleting,
            verified=self.verified,
            applied=applied_version >= desired_version,
            active=is_active,
        ).value
        percent = usage_percent(used, quota_mb)
        local_part = escape(local_part)
        attributes = ' class="full-mailbox"' if percent >= 100 else ""
        if status == Status.UPDATING:
            head, tail = self.live_url
            attributes += f' hx-get="{head}{pk}{tail}" hx-trigger="every 2s" hx-swap="outerHTML"'
        select = ""
        if self.can_write:
            label = self.select_format % {"address": local_part}
            checkbox = (
                ""
                if deleting
                else f'<input type="checkbox" name="ids" value="{pk}" form="bulk" '
                f'aria-label="{label}">'
            )
            select = f'<td class="select">{checkbox}</td>'
        due = (
            f' <span class="badge badge-due">{text["payment_due"]}</span>'
            if payment_due_since
            else ""
        )
        name = f"{first_name} {last_name}".strip()
        name = f'<br><small class="muted">{escape(name)}</small>' if name else ""
        head, tail = self.settings_url
        level = " full" if percent >= 100 else " near" if percent >= 90 else ""
        full = f' <span class="badge badge-due">{text["full"]}</span>' if percent >= 100 else ""
        stale = (
            f' <small class="muted" title="{text["not_current_help"]}">{text["not_current"]}'
            "</small>"
            if stale
            else ""
        )
        last_access = (
            escape(self.dates.format(last_login_at))
            if last_login_at
            else f'<span class="muted">{text["never"]}</span>'
        )
        used_label = self.used_format % {"percent": percent}
        actions = self.actions(pk, is_active) if self.can_manage and not deleting else ""
        return (
            f'<tr id="account-{pk}" data-status="{status}"{attributes}>\n'
            f"  {select}\n"
            f'  <td><span class="badge badge-{status}">{self.status_labels[status]}</span>{due}'
            "</td>\n"
            f'  <td><a href="{head}{pk}{tail}">{local_part}@{self.domain_name}</a>{name}</td>\n'
            f'  <td class="num"><svg class="usage{level}" viewBox="0 0 100 8" width="60" '
            f'height="8" role="img" aria-label="{used_label}"><rect class="track" width="100" '
            f'height="8"/><rect class="used" width="{percent}" height="8"/></svg>{full} '
            f"{escape(filesizeformat(used))} "
            f'<small class="muted">/ {self.quota(quota_mb)}</small>{stale}</td>\n'
            f"  <td>{last_access}</td>\n"
            f'  <td class="num">{sent_24h}</td>\n'
            f'  <td class="row-actions">{actions}</td>\n'
            "</tr>\n"
        )

    def render(self, rows: Iterable[tuple]) -> SafeString:
        """`rows`: tuples of ROW_FIELDS."""
        return SafeString("".join(self.row(values) for values in rows))
