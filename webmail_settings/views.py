"""The end users' portal (/portal/), its JSON endpoint for the webmail, and the domain's
Webmail page in the admins' panel."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import personal
from accounts.forms import AutoresponderForm, ForwardForm, PhotoForm
from domains import autoconfig
from domains.access import get_domain_for, role_flags
from security.tokens import authenticate
from tempusmail.views import add_service_error

from . import services
from .access import (
    get_catalog_organization_for,
    get_email_service_for,
    get_external_mailbox_for,
    get_mailbox_for,
    get_signature_for,
)
from .forms import (
    CatalogSettingsForm,
    ConnectForm,
    ConnectionPasswordForm,
    DetailsForm,
    DomainWebmailForm,
    EmailServiceForm,
    IdentityForm,
    PreferencesForm,
    SignatureForm,
    SpamForm,
)
from .models import SignaturePolicy

SECTIONS = {
    "home": gettext_lazy("Overview"),
    "preferences": gettext_lazy("Preferences"),
    "identities": gettext_lazy("Identities"),
    "signatures": gettext_lazy("Signatures"),
    "details": gettext_lazy("My details"),
    "address_book": gettext_lazy("Address book"),
    "autoresponder": gettext_lazy("Autoresponder"),
    "forwarding": gettext_lazy("Forwarding"),
    "spam": gettext_lazy("Spam"),
    "mailboxes": gettext_lazy("External mailboxes"),
    "security": gettext_lazy("Security"),
    "mail_apps": gettext_lazy("Mail apps"),
}
# The security app's pages, linked once they exist: (URL name, label, shown when).
SECURITY_LINKS = (
    ("security:password", gettext_lazy("Change password"), "password"),
    ("security:2fa", gettext_lazy("Two-factor authentication"), None),
    ("security:tokens", gettext_lazy("Personal API tokens"), "api"),
)


def portal_view(view):
    """Signed in, with a mailbox: the view receives the user's own account, nothing else."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        return view(request, get_mailbox_for(request.user), *args, **kwargs)

    return wrapper


def _render(request, account, section, template, **context):
    return render(
        request,
        template,
        {"account": account, "section": section, "sections": SECTIONS, **context},
    )


def _data(request):
    """Bound on POST even when nothing was sent (every checkbox cleared)."""
    return request.POST if request.method == "POST" else None


def _saved(request, changed) -> None:
    messages.success(request, _("Settings saved.") if changed else _("Nothing changed."))


@require_GET
@portal_view
def apply_status(request, account):
    """The portal's "being applied" notice, polled until it turns into a confirmation."""
    return render(request, "portal/_apply_notice.html", {"account": account, "polled": True})


@require_GET
@portal_view
def home(request, account):
    effective = services.effective_signatures(account)
    return _render(
        request,
        account,
        "home",
        "portal/home.html",
        identities=services.identities(account),
        effective=effective,
    )


@require_http_methods(["GET", "POST"])
@portal_view
def preferences(request, account):
    initial = {
        "language": account.webmail_language,
        "time_zone": account.webmail_time_zone,
        "date_format": account.date_format,
        "time_format": account.time_format,
    }
    form = PreferencesForm(_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.preferences_update(account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            translation.activate(form.cleaned_data["language"])  # confirm in the new language
            _saved(request, changed)
            return redirect("portal:preferences")
    return _render(request, account, "preferences", "portal/preferences.html", form=form)


@require_http_methods(["GET", "POST"])
@portal_view
def identities(request, account):
    form = IdentityForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.identity_rename(account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Display name saved."))
            return redirect("portal:identities")
    rows = [
        (
            identity,
            IdentityForm(
                initial={"address": identity.address, "display_name": identity.display_name},
                auto_id=f"id_{index}_%s",
            ),
        )
        for index, identity in enumerate(services.identities(account))
    ]
    return _render(request, account, "identities", "portal/identities.html", rows=rows, form=form)


@require_GET
@portal_view
def signatures(request, account):
    effective = services.effective_signatures(account)
    return _render(
        request,
        account,
        "signatures",
        "portal/signatures.html",
        effective=effective,
        mandatory=effective.policy == SignaturePolicy.MANDATORY,
    )


def _signature_form(request, account, signature, template):
    initial = None
    if signature is not None:
        initial = {
            name: getattr(signature, name)
            for name in ("identity", "name", "html", "text", "is_default", "bcc_sender")
        }
    form = SignatureForm(
        _data(request),
        initial=initial,
        identities=services.identity_addresses(account),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.signature_save(account=account, signature=signature, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Signature saved."))
            return redirect("portal:signatures")
    return _render(request, account, "signatures", template, form=form, signature=signature)


@require_http_methods(["GET", "POST"])
@portal_view
def signature_create(request, account):
    services.ensure_signatures_editable(account)
    return _signature_form(request, account, None, "portal/signature_create.html")


@require_http_methods(["GET", "POST"])
@portal_view
def signature_edit(request, account, pk):
    signature = get_signature_for(account, pk)
    services.ensure_signatures_editable(account)
    return _signature_form(request, account, signature, "portal/signature_edit.html")


@require_POST
@portal_view
def signature_delete(request, account, pk):
    signature = get_signature_for(account, pk)
    services.signature_delete(signature=signature)
    messages.success(request, _("Signature %(name)s deleted.") % {"name": signature.name})
    return redirect("portal:signatures")


@require_GET
@portal_view
def address_book(request, account):
    q = request.GET.get("q", "").strip()[:100]
    entries = services.address_book(account.domain, q=q)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    groups = services.address_book_groups(account.domain, q=q) if page.number == 1 else []
    return _render(
        request,
        account,
        "address_book",
        "portal/address_book.html",
        page=page,
        q=q,
        groups=groups,
    )


DETAIL_FIELDS = tuple(DetailsForm.base_fields)


@require_http_methods(["GET", "POST"])
@portal_view
def details(request, account):
    """My details: personal data and photo, kept by the user (the admin sees them too)."""
    form = DetailsForm(
        _data(request), initial={name: getattr(account.user, name) for name in DETAIL_FIELDS}
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.details_update(account=account, values=form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            _saved(request, changed)
            return redirect("portal:details")
    return _details_page(request, account, form=form)


def _details_page(request, account, *, form=None, photo_form=None, status=200):
    form = form or DetailsForm(
        initial={name: getattr(account.user, name) for name in DETAIL_FIELDS}
    )
    return render(
        request,
        "portal/details.html",
        {
            "account": account,
            "section": "details",
            "sections": SECTIONS,
            "form": form,
            "photo_form": photo_form or PhotoForm(),
        },
        status=status,
    )


@require_POST
@portal_view
def details_photo(request, account):
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["photo"]
        try:
            personal.user_set_photo(
                user=account.user, data=upload.read(personal.MAX_PHOTO_BYTES + 1)
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Photo saved."))
            return redirect("portal:details")
    return _details_page(request, account, photo_form=form)


@require_POST
@portal_view
def details_photo_remove(request, account):
    personal.user_remove_photo(user=account.user)
    messages.success(request, _("Photo removed."))
    return redirect("portal:details")


@never_cache
@require_GET
@portal_view
def address_book_vcf(request, account):
    q = request.GET.get("q", "").strip()[:100]
    body = services.vcards(
        services.address_book(account.domain, q=q),
        organization=account.domain.display_name,
        groups=services.address_book_groups(account.domain, q=q),
    )
    response = HttpResponse(body, content_type="text/vcard; charset=utf-8")
    filename = f"{account.domain.name}-address-book.vcf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
@portal_view
def autoresponder(request, account):
    fields = AutoresponderForm.base_fields
    form = AutoresponderForm(
        _data(request), initial={name: getattr(account, name) for name in fields}
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.autoresponder_update(account=account, values=form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            _saved(request, changed)
            return redirect("portal:autoresponder")
    return _render(request, account, "autoresponder", "portal/autoresponder.html", form=form)


@require_http_methods(["GET", "POST"])
@portal_view
def forwarding(request, account):
    allowed = services.forwarding_allowed(account)
    form = ForwardForm(
        _data(request),
        address=account.address,
        initial={
            "forward_to": account.forward_to,
            "forward_keep_copy": account.forward_keep_copy,
        },
    )
    if request.method == "POST":
        services.ensure_forwarding_allowed(account)
        if form.is_valid():
            try:
                changed = services.forwarding_update(
                    account=account,
                    forward_to=form.cleaned_data["forward_to"],
                    keep_copy=form.cleaned_data["forward_keep_copy"],
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                _saved(request, changed)
                return redirect("portal:forwarding")
    return _render(
        request, account, "forwarding", "portal/forwarding.html", form=form, allowed=allowed
    )


@require_http_methods(["GET", "POST"])
@portal_view
def spam(request, account):
    form = SpamForm(_data(request), initial={"spam_to_inbox": account.spam_to_inbox})
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.spam_update(account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            _saved(request, changed)
            return redirect("portal:spam")
    return _render(request, account, "spam", "portal/spam.html", form=form)


@require_GET
@portal_view
def security(request, account):
    shown = {
        "password": not account.disable_password_change,
        "api": account.api_access,
        None: True,
    }
    links = [(name, label) for name, label, when in SECURITY_LINKS if shown[when]]
    return _render(request, account, "security", "portal/security.html", links=links)


@never_cache
@require_GET
def api_settings(request):
    """The user's effective settings for a webmail (docs/webmail-api.md)."""
    user = authenticate(request)
    if user is None:
        return JsonResponse({"error": "authentication required"}, status=401)
    account = get_mailbox_for(user)
    return JsonResponse(services.effective_settings(account))


# --- the admins' panel: the domain's Webmail tab -------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def domain_webmail(request, pk):
    domain = get_domain_for(request.user, pk, write=request.method == "POST")
    webmail = services.domain_webmail(domain)
    initial = {
        name: getattr(webmail, name)
        for name in DomainWebmailForm.base_fields
        if name != "apply_to_existing"
    }
    form = DomainWebmailForm(_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        apply_to_existing = values.pop("apply_to_existing")
        try:
            services.domain_webmail_update(
                domain=domain, values=values, apply_to_existing=apply_to_existing
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Webmail settings saved."))
            return redirect("portal:domain_webmail", pk=domain.pk)
    return render(
        request,
        "portal/domain_webmail.html",
        {
            "domain": domain,
            "form": form,
            "webmail": webmail,
            "tab": "webmail",
            **role_flags(domain.member_role),
        },
    )


@require_GET
@portal_view
def mail_apps(request, account):
    """The servers a mail app needs (the same MAIL_CLIENT_SERVERS autoconfig advertises)."""
    return _render(
        request,
        account,
        "mail_apps",
        "portal/mail_apps.html",
        servers=autoconfig.servers().values(),
        live=account.domain.is_verified,
    )


@require_GET
@portal_view
def mobileconfig(request, account):
    """An Apple configuration profile for the signed-in user's own mailbox (no password)."""
    if not account.domain.is_verified:
        raise Http404("The domain is not verified yet.")
    body = autoconfig.mobileconfig(address=account.address, display_name=account.display_name)
    response = HttpResponse(body, content_type="application/x-apple-aspen-config")
    response["Content-Disposition"] = 'attachment; filename="mail.mobileconfig"'
    response["Cache-Control"] = "no-store"
    return response


# --- Administration › Email service settings (seed 004) -------------------------------------


def _catalog_url(organization) -> str:
    return f"{reverse('portal:email_services')}?org={organization.pk}"


@login_required
@require_http_methods(["GET", "POST"])
def email_services(request):
    """The catalog users pick from, and whether they may type a server of their own."""
    organization, organizations = get_catalog_organization_for(
        request.user,
        request.GET.get("org") or request.POST.get("org"),
        write=request.method == "POST",
    )
    current = services.catalog_settings(organization)
    form = CatalogSettingsForm(_data(request), initial={"allow_manual": current.allow_manual})
    if request.method == "POST" and form.is_valid():
        changed = services.catalog_settings_update(
            organization=organization, allow_manual=form.cleaned_data["allow_manual"]
        )
        _saved(request, changed)
        return redirect(_catalog_url(organization))
    return render(
        request,
        "portal/email_services.html",
        {
            "organization": organization,
            "organizations": organizations,
            "rows": services.catalog_services(organization),
            "form": form,
            **role_flags(organization.member_role),
        },
    )


def _service_form(request, organization, service, template):
    initial = None
    if service is not None:
        initial = {
            "name": service.name,
            "smtp_server": service.smtp_server,
            "smtp_tls": service.smtp_tls,
            "imap_server": service.imap_server,
            "imap_security": service.imap_security,
        }
    form = EmailServiceForm(_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.email_service_save(
                organization=organization,
                service=service,
                name=data["name"],
                imap=data["imap_server"],
                imap_security=data["imap_security"],
                smtp=data["smtp_server"],
                smtp_tls=data["smtp_tls"],
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Email service %(name)s saved.") % {"name": saved.name})
            return redirect(_catalog_url(organization))
    return render(
        request,
        template,
        {"organization": organization, "service": service, "form": form},
    )


@login_required
@require_http_methods(["GET", "POST"])
def email_service_create(request):
    organization, _all = get_catalog_organization_for(
        request.user, request.GET.get("org") or request.POST.get("org"), write=True
    )
    return _service_form(request, organization, None, "portal/email_service_create.html")


@login_required
@require_http_methods(["GET", "POST"])
def email_service_edit(request, pk):
    service = get_email_service_for(request.user, pk, write=request.method == "POST")
    return _service_form(request, service.organization, service, "portal/email_service_edit.html")


@login_required
@require_http_methods(["GET", "POST"])
def email_service_delete(request, pk):
    """A confirmation listing the users whose connections stop, then the deletion."""
    service = get_email_service_for(request.user, pk, write=True)
    if request.method == "POST":
        stopped = services.email_service_delete(service=service)
        messages.success(
            request,
            _("Email service %(name)s deleted; %(n)s connections stopped.")
            % {"name": service.name, "n": len(stopped)},
        )
        return redirect(_catalog_url(service.organization))
    return render(
        request,
        "portal/email_service_delete.html",
        {
            "service": service,
            "organization": service.organization,
            "users": services.email_service_users(service),
        },
    )


@login_required
@require_POST
def email_service_visibility(request, pk):
    """The eye: hide a service from new connections, or show it again."""
    service = get_email_service_for(request.user, pk, write=True)
    hidden = request.POST.get("hidden") == "1"
    services.email_service_set_hidden(service=service, hidden=hidden)
    text = _("%(name)s is hidden.") if hidden else _("%(name)s is offered again.")
    messages.success(request, text % {"name": service.name})
    return redirect(_catalog_url(service.organization))


# --- the portal: external mailboxes -----------------------------------------------------------


@require_GET
@portal_view
def mailboxes(request, account):
    rows = [services.progress(c) for c in account.external_mailboxes.select_related("service")]
    return _render(request, account, "mailboxes", "portal/mailboxes.html", rows=rows)


@require_http_methods(["GET", "POST"])
@portal_view
def mailbox_connect(request, account):
    """Choose a service (or Other), enter login and password; Test, or Connect."""
    manual = services.manual_allowed(account)
    form = ConnectForm(_data(request), services=services.offered_services(account), manual=manual)
    checks = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            servers = services.choose_servers(
                account=account,
                choice=data["service"],
                imap=data.get("imap_server"),
                imap_security=data.get("imap_security") or "",
                smtp=data.get("smtp_server"),
                smtp_tls=bool(data.get("smtp_tls")),
            )
            if request.POST.get("action") == "test":
                checks = services.connection_test(
                    account=account,
                    servers=servers,
                    login=data["login"],
                    password=data["password"],
                )
            else:
                connection = services.connection_create(
                    account=account,
                    servers=servers,
                    login=data["login"],
                    password=data["password"],
                )
                messages.success(request, _("Mailbox connected: the import has started."))
                return redirect("portal:mailbox", pk=connection.pk)
        except ValidationError as error:
            add_service_error(form, error)
    return _render(
        request,
        account,
        "mailboxes",
        "portal/mailbox_connect.html",
        form=form,
        checks=checks,
        manual=manual,
        account_fields=[form[name] for name in ("service", "login", "password")],
        manual_fields=[form[name] for name in MANUAL_FIELDS if name in form.fields],
    )


MANUAL_FIELDS = ("imap_server", "imap_security", "smtp_server", "smtp_tls")


@require_http_methods(["GET", "POST"])
@portal_view
def mailbox(request, account, pk):
    """One connection: live progress, last sync and error; pause, resume, sync, password."""
    connection = get_external_mailbox_for(account, pk)
    form = ConnectionPasswordForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.connection_set_password(
                connection=connection, password=form.cleaned_data["password"]
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Password saved: a sync has started."))
            return redirect("portal:mailbox", pk=connection.pk)
    return _render(
        request,
        account,
        "mailboxes",
        "portal/mailbox.html",
        progress=services.progress(connection),
        connection=connection,
        form=form,
    )


@never_cache
@portal_view
def mailbox_progress(request, account, pk):
    """The progress block alone, polled by htmx while a sync runs (looked up before the
    method is checked: another user's connection is a 404 whatever the method)."""
    connection = get_external_mailbox_for(account, pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return render(
        request, "portal/_mailbox_progress.html", {"progress": services.progress(connection)}
    )


MAILBOX_ACTIONS = {
    "pause": (services.connection_pause, gettext_lazy("Paused.")),
    "resume": (services.connection_resume, gettext_lazy("Resumed: a sync has started.")),
    "sync": (services.connection_sync_now, gettext_lazy("A sync has started.")),
}


@require_POST
@portal_view
def mailbox_action(request, account, pk, action):
    if action not in MAILBOX_ACTIONS:
        raise Http404
    connection = get_external_mailbox_for(account, pk)
    run, done = MAILBOX_ACTIONS[action]
    try:
        run(connection=connection)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("portal:mailbox", pk=connection.pk)


@require_POST
@portal_view
def mailbox_disconnect(request, account, pk):
    connection = get_external_mailbox_for(account, pk)
    services.connection_disconnect(connection=connection)
    messages.success(
        request,
        _("%(login)s disconnected. The mail already imported stays in your mailbox.")
        % {"login": connection.login},
    )
    return redirect("portal:mailboxes")
