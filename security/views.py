"""Sign-in and its follow-up steps (2FA, forced password change), 2FA and token management,
the domain security tab and the organization audit page."""

import base64
from urllib.parse import quote

import segno
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.access import get_account_for
from accounts.passwords import password_change_required
from domains.access import get_domain_for, role_flags
from tempusmail.net import ip_allowed
from tempusmail.tenancy import not_found
from tempusmail.views import add_service_error, home_url

from . import forms, services
from .access import (
    get_organization_for,
    get_token_for,
    is_owner,
    organization_tokens_for,
    personal_tokens_for,
)
from .models import AuditEvent, DomainSecurityPolicy


def _next_url(request) -> str:
    target = request.session.get("security_next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return home_url(request.user)


def _step_done(request, step: str):
    pending = [s for s in request.session.get("security_pending", []) if s != step]
    request.session["security_pending"] = pending
    if pending:
        return redirect(reverse(f"security:{'setup' if pending[0] == 'enroll' else pending[0]}"))
    return redirect(_next_url(request))


@require_http_methods(["GET", "POST"])
def login(request):
    """Password first; then whatever the policies ask (2FA code, enrollment, new password).
    Every failure answers alike, a refused client address with the right password included:
    the answer never confirms a password nor tells whether an address exists."""
    if request.user.is_authenticated and not request.session.get("security_pending"):
        return redirect(home_url(request.user))
    form = forms.LoginForm(request, data=request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST":
        ip = request.client_ip
        email = str(request.POST.get("username", ""))[:254]
        if services.login_throttled(ip=ip, email=email):
            services.audit_sign_in("login.throttled", email=email)
            form = forms.LoginForm(request, initial={"username": email})
            error = _("Too many failed sign-in attempts. Wait a few minutes and try again.")
        elif form.is_valid() and ip_allowed(form.get_user(), ip):
            user = form.get_user()
            next_url = request.POST.get("next") or request.GET.get("next") or ""
            auth_login(request, user)  # a new session key: no fixation
            services.login_succeeded(email=email)
            services.audit_sign_in("login.success", email=email, user=user)
            request.session["security_pending"] = services.login_steps(user)
            request.session["security_next"] = next_url
            if request.session["security_pending"]:
                return _step_done(request, "")
            return redirect(_next_url(request))
        else:
            if form.is_valid():  # the right password from a refused address: the same answer
                services.audit_sign_in("ip.refused", email=email, user=form.get_user())
                form.add_error(None, form.get_invalid_login_error())
            else:
                services.audit_sign_in("login.failure", email=email)
            services.login_failed(ip=ip, email=email)
    return render(
        request,
        "registration/login.html",
        {"form": form, "error": error, "next": request.GET.get("next", "")[:500]},
    )


@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    """The second factor at sign-in: a TOTP code or one backup code. A few wrong codes end
    this sign-in (the password is asked again); they never delay the owner's next one."""
    form = forms.OTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ip = request.client_ip
        if services.client_throttled(ip=ip):
            form.add_error(
                "token", _("Too many failed attempts. Wait a few minutes and try again.")
            )
        else:
            device = services.verify_otp(user=request.user, token=form.cleaned_data["token"])
            if device is not None:
                request.session.pop("otp_failures", None)
                otp_login(request, device)
                return _step_done(request, "verify")
            tries = request.session.get("otp_failures", 0) + 1
            request.session["otp_failures"] = tries
            if services.otp_failed(user=request.user, ip=ip, tries=tries):
                auth_logout(request)
                messages.error(request, _("Too many wrong codes: sign in again."))
                return redirect("login")
            form.add_error("token", _("That code is not valid, or was already used."))
    return render(request, "registration/verify.html", {"form": form})


def _reauth_required(request) -> bool:
    """Enrollment as a sign-in step follows the password just typed; any other asks again."""
    return "enroll" not in request.session.get("security_pending", [])


@login_required
@require_http_methods(["GET", "POST"])
def setup(request):
    """TOTP enrollment: scan the QR code (SVG made on the server), confirm with a code.
    Outside the sign-in steps (a new or replaced device) the password is asked again."""
    device = services.pending_totp_device(user=request.user)
    reauth = _reauth_required(request)
    form = forms.OTPForm(request.POST or None, reauth=reauth)
    if request.method == "POST" and form.is_valid():
        try:
            if reauth:
                services.check_password_again(
                    user=request.user, password=form.cleaned_data["password"], ip=request.client_ip
                )
            codes = services.confirm_totp(
                user=request.user, device=device, token=form.cleaned_data["token"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            otp_login(request, device)
            request.session["security_pending"] = [
                s for s in request.session.get("security_pending", []) if s != "enroll"
            ]
            return render(
                request,
                "security/backup_codes.html",
                {"codes": codes, "next": _step_done(request, "enroll")["Location"]},
            )
    qr = segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#111", light="#fff")
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "security/setup.html",
        {"form": form, "qr": qr, "secret": secret, "required": services.requires_2fa(request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request):
    """Your own 2FA: status, new backup codes, switch off (unless a policy requires it). Both
    ask for the password again: a session left open must not hand over the second factor."""
    user = request.user
    form = forms.ReauthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action")
        try:
            services.check_password_again(
                user=user, password=form.cleaned_data["password"], ip=request.client_ip
            )
            if action == "codes" and services.has_2fa(user):
                codes = services.regenerate_backup_codes(user=user)
                return render(
                    request,
                    "security/backup_codes.html",
                    {"codes": codes, "next": reverse("security:2fa")},
                )
            if action == "disable":
                services.disable_2fa(user=user)
                messages.success(request, _("Two-factor authentication is off."))
                return redirect("security:2fa")
        except ValidationError as error:
            form.add_error("password", error)
    return render(
        request,
        "security/two_factor.html",
        {
            "form": form,
            "enabled": services.has_2fa(user),
            "required": services.requires_2fa(user),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def password(request):
    """Change your own password (also the forced step after sign-in when it expired)."""
    user = request.user
    forced = "password" in request.session.get("security_pending", [])
    account = getattr(user, "mailbox", None)
    blocked = account is not None and account.disable_password_change and not forced
    if blocked and not password_change_required(user):
        return render(request, "security/password_disabled.html", status=403)
    form = forms.PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_own_password(
                user=user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Password changed."))
            return _step_done(request, "password") if forced else redirect(home_url(user))
    return render(request, "registration/password_change.html", {"form": form, "forced": forced})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    """My profile: the panel's language and time zone (admins have no portal for them)."""
    user = request.user
    initial = {f: getattr(user, f) for f in services.PROFILE_FIELDS}
    form = forms.ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.profile_update(user=user, values=form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            if changed:
                translation.activate(user.language)  # this very answer in the new language
            messages.success(request, _("Profile saved.") if changed else _("Nothing changed."))
            return redirect("security:profile")
    return render(request, "security/profile.html", {"form": form})


# --- personal API tokens (mailbox owners) ---------------------------------------------------


def _create_token(request, *, organization=None):
    """The token form of either page; the new key is returned once, to be shown once."""
    form = forms.TokenForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return form, None
    try:
        _token, key = services.token_create(
            user=request.user, name=form.cleaned_data["name"], organization=organization
        )
    except ValidationError as error:
        add_service_error(form, error)
        return form, None
    return forms.TokenForm(), key


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    user = request.user
    account = getattr(user, "mailbox", None)
    if account is None:
        raise not_found()
    form, key = _create_token(request)
    return render(
        request,
        "security/tokens.html",
        {
            "form": form,
            "key": key,
            "enabled": account.api_access and account.is_active,
            "tokens": personal_tokens_for(user),
            "revoke_url": "security:token_revoke",
        },
    )


@login_required
@require_POST
def token_revoke(request, pk):
    """Your own token, or (owners) any token of your organization."""
    token = get_token_for(request.user, pk)
    services.token_revoke(token=token)
    messages.success(request, _("Token revoked."))
    if token.organization_id:
        return redirect("security:org_tokens")
    return redirect("security:tokens")


# --- panel: organization tokens, audit, domain security tab, 2FA reset ----------------------


def _organization(request, *, write: bool = False):
    wanted = request.GET.get("org") or request.POST.get("org")
    return get_organization_for(request.user, wanted, write=write)


@login_required
@require_http_methods(["GET", "POST"])
def org_tokens(request):
    """Tokens acting as you within one organization, with your role there. Owners see and
    can revoke everyone's tokens of the organization."""
    organization, organizations = _organization(request)
    tokens = organization_tokens_for(request.user, organization)
    form, key = _create_token(request, organization=organization)
    return render(
        request,
        "security/tokens.html",
        {
            "form": form,
            "key": key,
            "enabled": True,
            "organization": organization,
            "organizations": organizations,
            "tokens": tokens.select_related("user"),
            "show_creator": is_owner(request.user, organization.pk),
        },
    )


@login_required
def audit_log(request):
    """The organization's audit trail; owners and operators (it shows people's addresses)."""
    organization, organizations = _organization(request, write=True)
    form = forms.AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.filter(organization=organization)
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            events = events.filter(
                Q(object_repr__icontains=data["q"]) | Q(object_type__iexact=data["q"])
            )
        if data["person"]:
            events = events.filter(actor_email__icontains=data["person"])
        if data["start"]:
            events = events.filter(at__date__gte=data["start"])
        if data["end"]:
            events = events.filter(at__date__lte=data["end"])
    page = Paginator(events.only(*AUDIT_COLUMNS), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "security/audit_log.html",
        {
            "form": form,
            "page": page,
            "organization": organization,
            "organizations": organizations,
        },
    )


AUDIT_COLUMNS = ("at", "actor_email", "ip", "via", "action", "object_type", "object_repr", "fields")


@login_required
@require_http_methods(["GET", "POST"])
def domain_security(request, domain_pk):
    """The domain's Security tab: mandatory OTP, and who has 2FA (with a reset for owners)."""
    domain = get_domain_for(request.user, domain_pk, write=request.method == "POST")
    policy = DomainSecurityPolicy.objects.filter(domain=domain).first()
    form = forms.DomainSecurityForm(
        request.POST or None, initial={"require_2fa": bool(policy and policy.require_2fa)}
    )
    flags = role_flags(domain.member_role)
    if request.method == "POST" and form.is_valid():
        services.domain_policy_update(domain=domain, require_2fa=form.cleaned_data["require_2fa"])
        messages.success(request, _("Security settings saved."))
        return redirect("security:domain", domain_pk=domain.pk)
    if not flags["can_write"]:
        form.fields["require_2fa"].disabled = True
    enrolled = (
        TOTPDevice.objects.filter(user__mailbox__domain=domain, confirmed=True)
        .select_related("user__mailbox")
        .order_by("user__email")[:200]
    )
    return render(
        request,
        "security/domain_security.html",
        {"domain": domain, "form": form, "tab": "security", "enrolled": enrolled, **flags},
    )


@login_required
@require_POST
def reset_2fa(request, pk):
    """An admin resets an account's 2FA (lost phone); the owner enrolls again at next sign-in."""
    account = get_account_for(request.user, pk, manage=True)
    services.disable_2fa(user=account.user, by_admin=True)
    messages.success(request, _("2FA reset for %(address)s.") % {"address": account.address})
    return redirect("security:domain", domain_pk=account.domain_id)


class AnonymousOnly:
    """Recovery pages are for people who cannot sign in: a signed-in user goes home."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect(home_url(request.user))
        return super().dispatch(request, *args, **kwargs)


class RecoverView(AnonymousOnly, auth_views.PasswordResetView):
    form_class = forms.RecoveryForm
    template_name = "registration/recover.html"
    email_template_name = "registration/recover_email.txt"
    subject_template_name = "registration/recover_subject.txt"
    success_url = reverse_lazy("security:recover_sent")

    def form_valid(self, form):
        if not services.recovery_allowed(ip=self.request.client_ip):
            form.add_error(None, _("Too many requests. Wait a while and try again."))
            return self.form_invalid(form)
        return super().form_valid(form)


class RecoverSentView(AnonymousOnly, auth_views.PasswordResetDoneView):
    template_name = "registration/recover_sent.html"


class RecoverConfirmView(AnonymousOnly, auth_views.PasswordResetConfirmView):
    form_class = forms.RecoverySetPasswordForm
    template_name = "registration/recover_confirm.html"
    success_url = reverse_lazy("security:recover_done")


class RecoverDoneView(AnonymousOnly, auth_views.PasswordResetCompleteView):
    template_name = "registration/recover_done.html"


def admin_login(request):
    """The Django admin signs in through the same door (throttling, 2FA)."""
    target = reverse("login")
    next_url = request.GET.get("next", reverse("admin:index"))
    return redirect(f"{target}?next={quote(next_url)}")
