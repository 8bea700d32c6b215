"""Forms of the portal and of the domain's Webmail page; cleaned data is named after the
service arguments."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.forms import LongSelect, time_zone_choices
from accounts.models import DATE_FORMATS, LANGUAGES, TIME_FORMATS

from .models import SignaturePolicy
from .services import PLACEHOLDERS


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=time_zone_choices, widget=LongSelect
    )
    date_format = forms.ChoiceField(label=_("Date format"), choices=DATE_FORMATS)
    time_format = forms.ChoiceField(label=_("Time format"), choices=TIME_FORMATS)


class DetailsForm(forms.Form):
    """My details: the personal data users keep up to date themselves (seed 003)."""

    job_title = forms.CharField(label=_("Job title"), max_length=150, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    external_email = forms.EmailField(
        label=_("External email address"),
        required=False,
        help_text=_("Not hosted here: receives password recovery links."),
    )
    postal_address = forms.CharField(
        label=_("Postal address"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    birthdate = forms.DateField(
        label=_("Birthdate"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class IdentityForm(forms.Form):
    address = forms.CharField(widget=forms.HiddenInput, max_length=320)
    display_name = forms.CharField(label=_("Display name"), max_length=150, required=False)


class SignatureForm(forms.Form):
    identity = forms.ChoiceField(label=_("Identity"))
    name = forms.CharField(label=_("Name"), max_length=100)
    html = forms.CharField(
        label=_("HTML body"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "Formatting, links (https, mailto, tel) and images from https addresses. "
            "Scripts and anything else are removed when you save."
        ),
    )
    text = forms.CharField(
        label=_("Plain-text body"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Leave empty to derive it from the HTML body."),
    )
    is_default = forms.BooleanField(label=_("Set as default"), required=False)
    bcc_sender = forms.BooleanField(label=_("Add sender in BCC"), required=False)

    def __init__(self, *args, identities: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["identity"].choices = [(a, a) for a in identities]

    def clean(self):
        data = super().clean()
        if not (data.get("html") or "").strip() and not (data.get("text") or "").strip():
            self.add_error("html", _("Write an HTML or a plain-text body."))
        return data


class SpamForm(forms.Form):
    spam_to_inbox = forms.BooleanField(
        label=_("Deliver spam to Inbox"),
        required=False,
        help_text=_("Messages recognized as spam arrive in the Inbox instead of the Spam folder."),
    )


class DomainWebmailForm(PreferencesForm):
    """The domain's defaults: the users' preferences, plus the domain-wide policies."""

    apply_to_existing = forms.BooleanField(
        label=_("Also apply this localization to the existing accounts"),
        required=False,
        help_text=_("Overwrites the language, time zone and formats every account has now."),
    )
    allow_user_forwarding = forms.BooleanField(
        label=_("Users may set their own forwarding"), required=False
    )
    signature_policy = forms.ChoiceField(
        label=_("Corporate signature"), choices=SignaturePolicy.choices
    )
    signature_html = forms.CharField(
        label=_("Corporate signature (HTML)"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=format_lazy(
            "{} {}", _("Placeholders:"), ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
        ),
    )
    signature_text = forms.CharField(
        label=_("Corporate signature (plain text)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Leave empty to derive it from the HTML body."),
    )
