"""Accepting an invitation to an organization (domains.members): a new person sets a password
and, when required, enrolls two-factor authentication before anything else; a person who
already has a login signs in as that address and accepts."""

from django import forms
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.personal import invitation_sign_up
from domains.members import invitation_accept, open_invitation
from tempusmail.tenancy import not_found
from tempusmail.views import add_service_error

from .services import login_steps
from .views import _step_done


class SignUpForm(forms.Form):
    first_name = forms.CharField(label=gettext_lazy("Name"), max_length=150)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=150, required=False)
    password = forms.CharField(
        label=gettext_lazy("Password"), max_length=128, strip=False, widget=forms.PasswordInput
    )
    password2 = forms.CharField(
        label=gettext_lazy("Repeat the password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput,
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request, token):
    """The link works once: an unknown, used, revoked or expired token is a 404."""
    invited = open_invitation(token)
    if invited is None:
        raise not_found()
    context = {"invitation": invited, "organization": invited.organization}
    existing = User.objects.filter(email__iexact=invited.email).first()
    if existing is not None:
        if not request.user.is_authenticated or request.user.pk != existing.pk:
            login_url = f"{reverse('login')}?next={request.path}"
            return render(request, "security/invitation.html", {**context, "login_url": login_url})
        if request.method == "POST":
            try:
                invitation_accept(invitation=invited, user=request.user)
            except ValidationError as error:
                messages.error(request, error.messages[0])
            else:
                messages.success(
                    request,
                    _("You joined %(organization)s.") % {"organization": invited.organization},
                )
                return redirect("organization:home")
        return render(request, "security/invitation.html", {**context, "accept": True})
    if request.user.is_authenticated:
        return render(request, "security/invitation.html", {**context, "signed_in_as_other": True})
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, _membership = invitation_sign_up(
                invitation=invited,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password"],
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            auth_login(request, user)
            request.session["security_pending"] = login_steps(user)
            request.session["security_next"] = reverse("organization:home")
            return _step_done(request, "")
    return render(request, "security/invitation.html", {**context, "form": form})
