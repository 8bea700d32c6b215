import copy

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from accounts.forms import LongSelect, time_zone_choices
from accounts.models import LANGUAGES, User
from accounts.passwords import check_password_policy
from tempusmail.forms import CleanTextMixin

from .services import recovery_address, reset_password


class LoginForm(AuthenticationForm):
    """One message for every failure: it never tells whether an address exists."""

    error_messages = {
        "invalid_login": _("Incorrect email address or password."),
        "inactive": _("Incorrect email address or password."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email address")
        for name, limit in (("username", 254), ("password", 128)):
            self.fields[name].max_length = limit
            self.fields[name].validators.append(MaxLengthValidator(limit))


class OTPForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        help_text=_("The 6-digit code from your authenticator app, or a backup code."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, reauth: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if reauth:
            self.fields["password"] = copy.deepcopy(ReauthForm.base_fields["password"])


class ReauthForm(forms.Form):
    """The password again, before a change to the second factor."""

    password = forms.CharField(
        label=_("Your password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"), max_length=128, strip=False, widget=forms.PasswordInput
    )
    new_password = forms.CharField(
        label=_("New password"), max_length=128, strip=False, widget=forms.PasswordInput
    )
    new_password2 = forms.CharField(
        label=_("Repeat the new password"), max_length=128, strip=False, widget=forms.PasswordInput
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", _("The two passwords differ."))
        return data


class TokenForm(CleanTextMixin, forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)


class DomainSecurityForm(forms.Form):
    require_2fa = forms.BooleanField(
        label=_("Mandatory OTP for domain accounts"),
        required=False,
        help_text=_(
            "Every account of this domain must set up two-factor authentication at its next "
            "sign-in and cannot reach anything else before."
        ),
    )


class AuditFilterForm(CleanTextMixin, forms.Form):
    q = forms.CharField(label=_("Object"), required=False, max_length=100)
    person = forms.CharField(label=_("Person"), required=False, max_length=254)
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput({"type": "date"})
    )
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput({"type": "date"}))


class RecoveryForm(PasswordResetForm):
    """Asks for the login address; the link goes to the address recovery is allowed to use.
    The answer is the same whether or not the address exists."""

    email = forms.EmailField(label=_("Your sign-in address"), max_length=254)

    def get_users(self, email):
        users = User.objects.filter(email__iexact=email.strip(), is_active=True).select_related(
            "mailbox"
        )
        return [u for u in users if recovery_address(u)]

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        super().send_mail(
            subject_template_name,
            email_template_name,
            context,
            from_email,
            recovery_address(context["user"]),
            html_email_template_name,
        )


class RecoverySetPasswordForm(SetPasswordForm):
    """The new password from a recovery link, under the same policy as a change."""

    def clean(self):
        data = super().clean()
        password = data.get("new_password2")
        if password and not self.has_error("new_password2"):
            try:
                check_password_policy(user=self.user, password=password, by_admin=False)
            except ValidationError as error:
                self.add_error("new_password2", error)
        return data

    def save(self, commit=True):
        reset_password(user=self.user, password=self.cleaned_data["new_password1"])
        return self.user


class ProfileForm(CleanTextMixin, forms.Form):
    """My profile: the name and the panel's language and time zone of whoever signs in."""

    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=time_zone_choices, widget=LongSelect
    )
