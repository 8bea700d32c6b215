"""The account list's rows: its hot path (50 a page, and the live row it polls while an
account is Updating). Django's template engine spent ~0.33 ms of CPU a row on them (about
1,200 nodes, a URL reversal and a CSRF form a row: docs/benchmarks.md, "List pages"), so
here what is the same for every row is computed once a request (translated labels, URL
patterns from one reversal each), what a row shows is computed once a row, and the row is
rendered by one precompiled Jinja2 template (templates/accounts/_account_rows.jinja).

The template holds no text of its own: every string a user reads comes from here through
gettext, so `makemessages` finds it and the translations are those of the Django templates
the rows came from."""

from collections.abc import Iterable
from dataclasses import dataclass

import jinja2
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext, pgettext

from domains.models import Domain
from tempusmail.models import Status

from .models import EmailAccount

# The row's actions post through the one empty form of the page that carries the CSRF token
# (templates/accounts/account_list.html): <button form=… formaction=…>, no JavaScript.
ACTIONS_FORM = "row-actions"

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(settings.BASE_DIR / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    auto_reload=settings.DEBUG,
)
_SLOT = 987654321  # stands for the account's pk in a URL reversed once a request


def _pattern(name: str, *args: int) -> tuple[str, str]:
    head, tail = reverse(name, args=[*args, _SLOT]).split(str(_SLOT))
    return head, tail


@dataclass(slots=True)
class Row:
    pk: int
    status: str
    status_label: str
    payment_due: bool
    address: str
    display_name: str
    percent: int
    used_label: str
    storage: str
    quota: str
    stale: bool
    last_access: str
    sent_24h: int
    is_active: bool
    deleting: bool
    select_label: str
    settings_url: str
    live_url: str
    deactivate_url: str
    reactivate_url: str
    delete_url: str


class RowRenderer:
    """Renders a domain's account rows for one request (its language, time zone and role)."""

    def __init__(self, domain: Domain, *, can_write: bool, can_manage: bool):
        self.domain = domain
        self.can_write, self.can_manage = can_write, can_manage
        self.status_labels = {status: str(status.label) for status in Status}
        self.date_format = get_format("SHORT_DATETIME_FORMAT")  # the language's, looked up once
        self.quotas: dict[int, str] = {}
        self.select_format = gettext("Select %(address)s")
        self.used_format = gettext("%(percent)s %% used")
        self.urls = {
            "settings": _pattern("accounts:settings"),
            "live": _pattern("accounts:row", domain.pk),
            "deactivate": _pattern("accounts:deactivate"),
            "reactivate": _pattern("accounts:reactivate"),
            "delete": _pattern("accounts:delete"),
        }
        self.text = {
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

    def quota(self, mb: int) -> str:
        """A domain offers a few sizes: each is formatted once a request."""
        if mb not in self.quotas:
            self.quotas[mb] = filesizeformat(mb * 1024 * 1024)
        return self.quotas[mb]

    def url(self, name: str, pk: int) -> str:
        head, tail = self.urls[name]
        return f"{head}{pk}{tail}"

    def row(self, account: EmailAccount) -> Row:
        account.domain = self.domain  # one domain for every row: no query
        status = account.status
        percent = account.usage_percent
        pk = account.pk
        return Row(
            pk=pk,
            status=str(status),
            status_label=self.status_labels[status],
            payment_due=account.payment_due,
            address=f"{account.local_part}@{self.domain.display_name}",
            display_name=account.display_name,
            percent=percent,
            used_label=self.used_format % {"percent": percent},
            storage=filesizeformat(account.storage_used_bytes),
            quota=self.quota(account.quota_mb),
            stale=account.usage_stale,
            last_access=dateformat.format(localtime(account.last_login_at), self.date_format)
            if account.last_login_at
            else "",
            sent_24h=account.sent_24h,
            is_active=account.is_active,
            deleting=account.deleting,
            select_label=self.select_format % {"address": account.local_part},
            settings_url=self.url("settings", pk),
            live_url=self.url("live", pk),
            deactivate_url=self.url("deactivate", pk),
            reactivate_url=self.url("reactivate", pk),
            delete_url=self.url("delete", pk),
        )

    def render(self, accounts: Iterable[EmailAccount]) -> SafeString:
        html = _ENV.get_template("accounts/_account_rows.jinja").render(
            rows=[self.row(account) for account in accounts],
            can_write=self.can_write,
            can_manage=self.can_manage,
            actions_form=ACTIONS_FORM,
            text=self.text,
        )
        return SafeString(html)
