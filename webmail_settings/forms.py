"""Forms of the portal and of the domain's Webmail page; cleaned data is named after the
service arguments."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.forms import LongSelect, time_zone_choices
from accounts.models import DATE_FORMATS, LANGUAGES, TIME_FORMATS
from tempusmail.forms import CleanTextMixin

from .models import ImapSecurity, SignaturePolicy
from .remote import parse_server
from .services import MANUAL, PLACEHOLDERS


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=time_zone_choices, widget=LongSelect
    )
    date_format = forms.ChoiceField(label=_("Date format"), choices=DATE_FORMATS)
    time_format = forms.ChoiceField(label=_("Time format"), choices=TIME_FORMATS)


class DetailsForm(CleanTextMixin, forms.Form):
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


class IdentityForm(CleanTextMixin, forms.Form):
    address = forms.CharField(widget=forms.HiddenInput, max_length=320)
    display_name = forms.CharField(label=_("Display name"), max_length=150, required=False)


class SignatureForm(CleanTextMixin, forms.Form):
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


# --- the email service catalog and external mailboxes --------------------------------------


class ServerField(forms.CharField):
    """`host:port`, cleaned into a remote.Server (the seed's format)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 300)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return parse_server(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc.args[0])) from None


class ServersForm(forms.Form):
    smtp_server = ServerField(
        label=_("SMTP server"),
        help_text=_("Host and port: 25, 465 or 587. Example: smtp.myserver.com:465."),
    )
    smtp_tls = forms.BooleanField(
        label=_("Use TLS"),
        required=False,
        initial=True,
        help_text=_("The mail service transfers data over an encrypted connection."),
    )
    imap_server = ServerField(
        label=_("IMAP server"),
        help_text=_("Host and port; 143 and 993 are the usual. Example: imap.myserver.com:993."),
    )
    imap_security = forms.ChoiceField(
        label=_("Connection protection"), choices=ImapSecurity.choices, initial=ImapSecurity.TLS
    )


class EmailServiceForm(ServersForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    field_order = ["name", "smtp_server", "smtp_tls", "imap_server", "imap_security"]


class CatalogSettingsForm(forms.Form):
    allow_manual = forms.BooleanField(
        label=_("Allow entering details of the mailing server manually"),
        required=False,
        help_text=_('Users may choose "Other" and type the servers of a service not in the list.'),
    )


class ConnectForm(ServersForm):
    """Connect a mailbox: a service of the catalog, or Other with the servers typed in."""

    service = forms.ChoiceField(label=_("Email service"))
    login = forms.CharField(label=_("Login"), max_length=320)
    password = forms.CharField(
        label=_("Password"),
        max_length=1000,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Stored encrypted; it is never shown again."),
    )
    field_order = [
        "service",
        "login",
        "password",
        "imap_server",
        "imap_security",
        "smtp_server",
        "smtp_tls",
    ]

    def __init__(self, *args, services, manual: bool, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(s.pk), s.name) for s in services]
        if manual:
            choices.append((MANUAL, pgettext_lazy("email service", "Other")))
        self.fields["service"].choices = choices
        self.manual = manual
        for name in ("smtp_server", "imap_server"):
            self.fields[name].required = False
        if not manual:
            for name in ("smtp_server", "smtp_tls", "imap_server", "imap_security"):
                del self.fields[name]
        else:
            self.fields["imap_security"].required = False

    def clean(self):
        data = super().clean()
        if data.get("service") == MANUAL:
            for name in ("imap_server", "smtp_server"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _('Required when the service is "Other".'))
        return data


class ConnectionPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("New password"),
        max_length=1000,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
