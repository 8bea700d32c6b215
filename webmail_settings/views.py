"""The end users' portal (/portal/), its JSON endpoint for the webmail, and the domain's
Webmail page in the admins' panel."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import personal
from accounts.forms import AutoresponderForm, ForwardForm, PhotoForm
from domains.access import get_domain_for, role_flags
from security.tokens import authenticate
from tempusmail.views import add_service_error

from . import services
from .access import get_mailbox_for, get_signature_for
from .forms import (
    DetailsForm,
    DomainWebmailForm,
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
    "security": gettext_lazy("Security"),
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
