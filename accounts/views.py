from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from domains.access import choose_organization_for, get_domain_for, role_flags
from domains.billing import format_eur
from tempusmail.api import page_number
from tempusmail.views import add_service_error

from . import dashboard, forms, personal, services, subscriptions
from .access import (
    CREDENTIAL_FIELDS,
    NOT_YOURS,
    check_credentials_change,
    get_account_for,
    get_alias_for,
    get_photo_for,
)
from .access import may_change_credentials as _may_change_credentials
from .models import BulkJob, EmailAccount
from .rows import ACTIONS_FORM, ROW_FIELDS, RowRenderer
from .wizard import STEPS, AccountWizard, Outcome

SORTS = {
    "address": "local_part",  # within one domain, by its own index (accounts.models)
    "storage": "storage_used_bytes",
    "last_access": "last_login_at",
    "sent": "sent_24h",
    "status": "is_active",
}


class CappedPaginator(Paginator):
    """Counts at most CAP rows (or up to the requested page), so a page costs the same in a
    domain of 100,000 mailboxes: COUNT(*) reads every matching index entry. Past the limit
    the list says "more than N" and Next still leads on. A `total` already known (a domain's
    counter, which leaves out the accounts being deleted) is used as it is: no count at all,
    and a page still shows all of its rows, the ones being deleted too (Updating until the
    worker removes them)."""

    CAP = 10_000

    def __init__(self, object_list, per_page: int, *, total: int | None = None):
        super().__init__(object_list, per_page)
        self.total = total

    def get_page(self, number):
        self.wanted = page_number(number)
        return super().get_page(self.wanted)

    def page(self, number):
        if self.total is None:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return self._get_page(self.object_list[bottom : bottom + self.per_page], number, self)

    @cached_property
    def limit(self) -> int:
        return max(self.CAP, getattr(self, "wanted", 1) * self.per_page)

    @cached_property
    def count(self) -> int:
        if self.total is not None:
            return self.total
        return self.object_list.order_by()[: self.limit + 1].count()

    @property
    def capped(self) -> bool:
        return self.total is None and self.count > self.limit


# The list's sortable columns: key, label, right-aligned (numbers).
COLUMNS = (
    ("status", gettext_lazy("Status"), False),
    ("address", gettext_lazy("Address"), False),
    ("storage", gettext_lazy("Storage used"), True),
    ("last_access", gettext_lazy("Last access"), False),
    ("sent", gettext_lazy("Sent (24 h)"), True),
)


def sort_headers(q: str, sort: str) -> list[dict]:
    """The column headers' links: the same column again reverses its order; the search stays.
    Computed here once a request (five template includes cost ~0.5 ms a page)."""
    search = f"q={quote(q, safe='/')}&" if q else ""
    return [
        {
            "label": label,
            "num": num,
            "href": f"?{search}sort={'-' if sort == key else ''}{key}",
            "order": " asc" if sort == key else " desc" if sort[1:] == key else "",
        }
        for key, label, num in COLUMNS
    ]


@login_required
def account_list(request, domain_pk):
    domain = get_domain_for(request.user, domain_pk)
    q = request.GET.get("q", "").strip()[:100]
    sort = request.GET.get("sort", "address")
    field = SORTS.get(sort.lstrip("-"), SORTS["address"])
    order = f"-{field}" if sort.startswith("-") else field
    accounts = EmailAccount.objects.filter(domain=domain)
    if q:
        accounts = accounts.filter(
            Q(address__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q)
        )
    rows = accounts.order_by(order, "pk").values_list(*ROW_FIELDS)
    # The whole domain's count is its counter (accounts not being deleted); a search counts.
    total = None if q else domain.accounts_count
    page = CappedPaginator(rows, 50, total=total).get_page(request.GET.get("page"))
    flags = role_flags(domain.member_role)
    job = None
    if request.GET.get("job", "").isdigit():  # the bulk job just started: its live progress
        job = BulkJob.objects.filter(domain=domain, pk=request.GET["job"]).first()
    return render(
        request,
        "accounts/account_list.html",
        {
            "domain": domain,
            "page": page,
            "rows": RowRenderer(domain, **flags).render(page.object_list),
            "actions_form": ACTIONS_FORM,
            "q": q,
            "sort": sort,
            "sort_headers": sort_headers(q, sort),
            "tab": "accounts",
            "job": job,
            "is_member": True,  # get_domain_for found the user's role (base.html's navigation)
            "bulk_form": forms.blank_bulk_form(domain=domain, can_manage=flags["can_manage"])
            if flags["can_write"]
            else None,
            **flags,
        },
    )


@login_required
def account_row(request, domain_pk, pk):
    """The live row the list polls while an account is Updating; empty once it is deleted."""
    domain = get_domain_for(request.user, domain_pk)
    row = EmailAccount.objects.filter(domain=domain, pk=pk).values_list(*ROW_FIELDS).first()
    if row is None:
        return HttpResponse("")
    return HttpResponse(RowRenderer(domain, **role_flags(domain.member_role)).render([row]))


# --- the creation wizard ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def account_create(request, domain_pk):
    domain = get_domain_for(request.user, domain_pk, write=True)
    wizard = AccountWizard(request.session, domain, restart=bool(request.GET.get("new")))
    step = wizard.step_of(request.GET.get("step"))
    if request.method == "GET":
        outcome = Outcome(step=step, form=wizard.form(step))
    else:
        outcome = wizard.submit(step, request.POST)
    if outcome.account is not None:
        address = outcome.account.display_address
        messages.success(request, _("Email account %(address)s created.") % {"address": address})
        return redirect("accounts:list", domain_pk=domain.pk)
    if outcome.go_to is not None:
        if outcome.check_step:
            messages.error(request, _("Please check this step."))
        return redirect(f"{reverse('accounts:create', args=[domain.pk])}?step={outcome.go_to}")
    context = {
        "domain": domain,
        "form": outcome.form,
        "step": outcome.step,
        "steps": STEPS,
        "generated_password": outcome.generated,
        "password_set": wizard.password_set,
        "address_domain": domain.display_name,
    }
    return render(request, "accounts/account_create.html", context)


# --- settings -----------------------------------------------------------------------------

SECTIONS = {
    "master": (gettext_lazy("Master data"), forms.MasterForm),
    "general": (gettext_lazy("General"), forms.GeneralForm),
    "subscription": (gettext_lazy("Subscription"), None),
    "forward": (gettext_lazy("Forward"), forms.ForwardForm),
    # What happens to incoming mail: spam to the Inbox, refuse everything with a reply. Its
    # own context: "Other" (Italian "Altro") is the external mailboxes' manual service.
    "incoming": (
        pgettext_lazy("account settings section", "Incoming mail"),
        forms.IncomingMailForm,
    ),
    "security": (gettext_lazy("Security"), forms.SecurityForm),
    "autoresponder": (gettext_lazy("Autoresponder"), forms.AutoresponderForm),
    "webmail": (gettext_lazy("Webmail"), forms.WebmailForm),
    "aliases": (gettext_lazy("Aliases"), None),
}


def _section_form(section: str, account: EmailAccount, data=None, *, user=None):
    """The section's form; credential fields are read-only (kept as they are, even when a
    request sends them) for someone the privilege rule does not allow (accounts.access)."""
    form_class = SECTIONS[section][1]
    if form_class is None:
        return None
    initial = {
        name: getattr(account.user if name in services.USER_FIELDS else account, name)
        for name in form_class.base_fields
    }
    kwargs = {}
    if form_class in (forms.GeneralForm,):
        kwargs["domain"] = account.domain
        kwargs["subscription"] = account.subscription
    if form_class is forms.ForwardForm:
        kwargs["address"] = account.address
    form = form_class(data, initial=initial, **kwargs)
    guarded = CREDENTIAL_FIELDS & set(form.fields)
    if guarded and user is not None and not _may_change_credentials(user, account):
        for name in guarded:
            form.fields[name].disabled = True
            form.fields[name].help_text = NOT_YOURS
    return form


def _settings_context(request, account, section, form, **extra):
    flags = role_flags(account.member_role)
    editable = flags["can_write"] and account.is_active and not account.deleting
    if form is not None and not editable:
        for field in form.fields.values():
            field.disabled = True
    return {
        "account": account,
        "domain": account.domain,
        "section": section,
        "sections": {k: v[0] for k, v in SECTIONS.items()},
        "form": form,
        "editable": editable,
        "credentials_editable": editable and _may_change_credentials(request.user, account),
        "credentials_note": NOT_YOURS,
        **flags,
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request, pk, section="master"):
    if section == "other":  # the section's name until it said what it holds
        return redirect("accounts:settings", pk=pk, section="incoming")
    if section not in SECTIONS:
        section = "master"
    account = get_account_for(request.user, pk, write=request.method == "POST")
    data = request.POST if request.method == "POST" else None
    form = _section_form(section, account, data, user=request.user)
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            changed = services.account_update(account=account, values=form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Settings saved.") if changed else _("Nothing changed."))
            return redirect("accounts:settings", pk=account.pk, section=section)
    extra = {}
    if section == "security":
        extra["password_form"] = forms.PasswordForm()
        extra["new_password"] = request.session.pop(_new_password_key(account), None)
    if section == "aliases":
        extra["aliases"] = list(account.aliases.all())
        extra["alias_form"] = forms.AliasForm()
    if section == "general":
        plan = account.organization.plan
        extra["chargeable"] = account.daily_send_limit > plan.default_daily_send_limit
    if section == "subscription":
        extra.update(_subscription_context(account))
    if section == "master":
        extra["photo_form"] = forms.PhotoForm()
    return render(
        request,
        "accounts/account_settings.html",
        _settings_context(request, account, section, form, **extra),
    )


def _new_password_key(account) -> str:
    return f"new-password-{account.pk}"


@login_required
@require_POST
def account_password(request, pk):
    account = get_account_for(request.user, pk, write=True)
    check_credentials_change(account, user=request.user)
    form = forms.PasswordForm(request.POST)
    if form.is_valid():
        try:
            services.account_set_password(account=account, password=form.cleaned_data["password"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Password changed."))
            if form.cleaned_data.get("generate"):
                # Shown once by the next page, from the server-side session: never in the
                # messages cookie, which is signed, not encrypted.
                request.session[_new_password_key(account)] = form.cleaned_data["password"]
            return redirect("accounts:settings", pk=pk, section="security")
    return render(
        request,
        "accounts/account_settings.html",
        _settings_context(
            request,
            account,
            "security",
            _section_form("security", account, user=request.user),
            password_form=form,
        ),
    )


@login_required
@require_POST
def alias_add(request, pk):
    account = get_account_for(request.user, pk, write=True)
    form = forms.AliasForm(request.POST)
    if form.is_valid():
        try:
            services.alias_add(account=account, address=form.cleaned_data["address"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Alias added."))
            return redirect("accounts:settings", pk=pk, section="aliases")
    return render(
        request,
        "accounts/account_settings.html",
        _settings_context(
            request,
            account,
            "aliases",
            None,
            aliases=list(account.aliases.all()),
            alias_form=form,
        ),
    )


@login_required
@require_POST
def alias_delete(request, pk, alias_pk):
    account = get_account_for(request.user, pk, write=True)
    alias = get_alias_for(request.user, alias_pk, account=account)
    try:
        services.alias_delete(alias=alias)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("Alias %(address)s deleted.") % {"address": alias.address})
    return redirect("accounts:settings", pk=pk, section="aliases")


# --- subscription and photo -----------------------------------------------------------------


def _subscription_context(account, form=None) -> dict:
    """The current period and, for each offered subscription, what changing to it now costs."""
    offered = subscriptions.offered_subscriptions()
    options = []
    for subscription in offered:
        change = subscriptions.change_amount(
            organization=account.organization, account=account, new=subscription, now=timezone.now()
        )
        options.append((subscription, change.amount, format_eur(abs(change.amount))))
    return {
        "subscription_form": form
        or forms.SubscriptionForm(
            subscriptions=offered, initial={"subscription": account.subscription_id}
        ),
        "subscription_options": options,
        "period_price": format_eur(account.period_price),
        "credit": format_eur(account.organization.credit),
    }


@login_required
@require_POST
def account_subscription(request, pk):
    """Owners only: end users and operators may not change a subscription (seed 003)."""
    account = get_account_for(request.user, pk, manage=True)
    form = forms.SubscriptionForm(request.POST, subscriptions=subscriptions.offered_subscriptions())
    if form.is_valid():
        subscription = form.cleaned_data["subscription"]
        try:
            change = services.account_change_subscription(
                account=account, subscription=subscription
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            values = {"name": subscription.name}
            if change is None:
                messages.info(
                    request, _("The account already has the subscription %(name)s.") % values
                )
            elif change.amount > 0:
                values["amount"] = format_eur(change.amount)
                messages.success(
                    request, _("Subscription changed to %(name)s: %(amount)s charged.") % values
                )
            elif change.amount < 0:
                values["amount"] = format_eur(-change.amount)
                messages.success(
                    request, _("Subscription changed to %(name)s: %(amount)s refunded.") % values
                )
            else:
                messages.success(request, _("Subscription changed to %(name)s.") % values)
            return redirect("accounts:settings", pk=pk, section="subscription")
    return render(
        request,
        "accounts/account_settings.html",
        _settings_context(
            request, account, "subscription", None, **_subscription_context(account, form)
        ),
    )


@login_required
def account_photo(request, pk):
    """The photo, as an image, to people of the account's organization only (the lookup
    comes first: another organization's account is a 404 whatever the method)."""
    photo = get_photo_for(request.user, pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    response = HttpResponse(bytes(photo.data), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = "inline"
    return response


@login_required
@require_POST
def account_photo_upload(request, pk):
    account = get_account_for(request.user, pk, write=True)
    services.ensure_modifiable(account)
    form = forms.PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            personal.user_set_photo(
                user=account.user, data=_read_upload(form.cleaned_data["photo"])
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Photo saved."))
            return redirect("accounts:settings", pk=pk, section="master")
    return render(
        request,
        "accounts/account_settings.html",
        _settings_context(
            request, account, "master", _section_form("master", account), photo_form=form
        ),
    )


@login_required
@require_POST
def account_photo_remove(request, pk):
    account = get_account_for(request.user, pk, write=True)
    services.ensure_modifiable(account)
    personal.user_remove_photo(user=account.user)
    messages.success(request, _("Photo removed."))
    return redirect("accounts:settings", pk=pk, section="master")


def _read_upload(upload) -> bytes:
    """At most one byte past the limit: the service names the limit, nothing more is read."""
    return upload.read(personal.MAX_PHOTO_BYTES + 1)


# --- lifecycle ----------------------------------------------------------------------------


def _lifecycle(request, pk, operation, done_message):
    account = get_account_for(request.user, pk, manage=True)
    try:
        operation(account=account)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, done_message % {"address": account.display_address})
    return redirect("accounts:list", domain_pk=account.domain_id)


@login_required
@require_POST
def account_deactivate(request, pk):
    return _lifecycle(request, pk, services.account_deactivate, _("%(address)s deactivated."))


@login_required
@require_POST
def account_reactivate(request, pk):
    return _lifecycle(request, pk, services.account_reactivate, _("%(address)s reactivated."))


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request, pk):
    if request.method == "POST":
        return _lifecycle(request, pk, services.account_delete, _("%(address)s is being deleted."))
    account = get_account_for(request.user, pk, manage=True)
    if account.is_active:  # not offered: an active account is deactivated first
        messages.error(request, _("Deactivate the account before deleting it."))
        return redirect("accounts:settings", pk=pk)
    return render(
        request, "accounts/account_delete.html", {"account": account, "domain": account.domain}
    )


@login_required
def account_status(request, pk):
    """The settings page's status badge, polled while the account is Updating. The account is
    looked up first: another tenant's is a 404 whatever the method."""
    account = get_account_for(request.user, pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return render(request, "accounts/_status_badge.html", {"account": account})


@login_required
@require_http_methods(["GET"])
def organization_dashboard(request):
    """The organization's home for every member: its accounts, storage, sending and what
    needs attention, in a fixed number of queries."""
    organization, organizations = choose_organization_for(request.user, request.GET.get("org"))
    return render(
        request,
        "accounts/dashboard.html",
        {
            "organization": organization,
            "organizations": organizations,
            "tab": "overview",
            **dashboard.overview(organization),
            **role_flags(organization.member_role),
        },
    )
