"""Plain forms for the wizard steps and the settings sections. Each returns cleaned data named
after the EmailAccount fields, so a view hands it straight to a service."""

import secrets
import string
import zoneinfo
from functools import cache

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.forms.renderers import Jinja2
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from domains.billing import format_eur
from domains.forms import storage_label
from domains.models import SERVICE_LABELS, SERVICES_HELP, Domain, SubscriptionType
from tempusmail.forms import CleanTextMixin

from . import validators
from .models import (
    DATE_FORMATS,
    EXPIRY_CHOICES,
    LANGUAGES,
    MAX_FORWARDS,
    MAX_NETWORKS,
    REJECT_MESSAGE_MAX,
    TIME_FORMATS,
    BulkJob,
)
from .services import address_taken


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz or tz == "UTC"]


class LongSelect(forms.Select):
    """A select of hundreds of plain options (the IANA time zones), rendered in one pass:
    Django's per-option templates take ~0.5 ms each."""

    def render(self, name, value, attrs=None, renderer=None):
        context = self.get_context(name, value, attrs)["widget"]
        selected = {str(v) for v in context["value"]}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, mark_safe(" selected") if str(key) in selected else "", label)
                for key, label in self.choices
            ),
        )
        return format_html(
            "<select{}>{}</select>", flatatt(context["attrs"] | {"name": name}), options
        )


def generate_password(length: int = 16) -> str:
    """A strong random password with every character class (shown once, never stored)."""
    alphabet = string.ascii_letters + string.digits + "!#$%&*+-=?@_"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
            and any(not c.isalnum() for c in password)
        ):
            return password


class LinesField(forms.CharField):
    """A textarea of one value per line, cleaned into a list."""

    widget = forms.Textarea(attrs={"rows": 4})
    lines = True  # the API's form bridge sends it a JSON list as lines

    def __init__(self, *, max_items: int, **kwargs):
        self.max_items = max_items
        super().__init__(required=False, max_length=max_items * 330, strip=False, **kwargs)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def clean(self, value):
        text = super().clean(value) or ""
        return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def subscription_label(subscription: SubscriptionType) -> str:
    """ "Business — 6.50 € a month · 5 GB · 3 aliases"."""
    price = (
        _("free")
        if subscription.is_free
        else _("%(price)s a month") % {"price": format_eur(subscription.monthly_price)}
    )
    return _("%(name)s — %(price)s · %(storage)s · %(aliases)d aliases") % {
        "name": subscription.name,
        "price": price,
        "storage": storage_label(subscription.storage_mb),
        "aliases": subscription.max_aliases,
    }


class SubscriptionField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return subscription_label(obj)


class NewAccountForm(CleanTextMixin, forms.Form):
    """Wizard step 1: the subscription (when the provider offers any), who uses the account,
    its address and its password."""

    first_name = forms.CharField(label=_("Name / description"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    local_part = forms.CharField(label=_("Address"), max_length=64)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False),
    )

    def __init__(
        self, *args, domain: Domain, password_set: bool = False, subscriptions=None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.domain = domain
        self.password_set = password_set
        if subscriptions is not None and subscriptions.exists():
            self.fields = {
                "subscription": SubscriptionField(
                    label=_("Subscription"),
                    queryset=subscriptions,
                    empty_label=None,
                    help_text=_("A paid subscription charges its first month to your credit."),
                ),
                **self.fields,
            }

    def clean_local_part(self):
        local = validators.normalize_local_part(self.cleaned_data["local_part"])
        if address_taken(f"{local}@{self.domain.name}"):
            raise ValidationError(_("This address is already in use."))
        return local

    def clean_password(self):
        password = self.cleaned_data.get("password") or ""
        if not password and not self.password_set:
            raise ValidationError(_("Type a password or generate one."))
        if password:
            validate_password(password)
        return password


class ServicesForm(forms.Form):
    """Wizard step 2 / part of General: capacity and services the domain offers."""

    quota_mb = forms.TypedChoiceField(label=_("Storage capacity"), coerce=int)
    services = forms.MultipleChoiceField(
        label=_("Services"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=SERVICES_HELP,
    )

    def __init__(
        self, *args, domain: Domain, subscription: SubscriptionType | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.domain = domain
        storage = [subscription.storage_mb] if subscription else domain.storage_options_mb
        self.fields["quota_mb"].choices = [(mb, storage_label(mb)) for mb in storage]
        self.fields["services"].choices = [
            (s, SERVICE_LABELS[s])
            for s in domain.offered_services()
            if subscription is None or s in subscription.services
        ]
        if subscription is not None:
            self.fields["quota_mb"].help_text = _("Included in the subscription %(name)s.") % {
                "name": subscription.name
            }


class GeneralForm(ServicesForm):
    daily_send_limit = forms.IntegerField(label=_("Daily sending limit"), min_value=1)

    def __init__(self, *args, domain: Domain, **kwargs):
        super().__init__(*args, domain=domain, **kwargs)
        plan = domain.organization.plan
        self.fields["daily_send_limit"].help_text = _(
            "Plan default %(default)d a day; above it the extra sending may entail a cost."
        ) % {"default": plan.default_daily_send_limit}


class SecurityForm(forms.Form):
    """Wizard step 3 / settings Security."""

    force_password_change = forms.BooleanField(
        label=_("Force password change on next login"), required=False
    )
    password_expiry_months = forms.TypedChoiceField(
        label=_("Password expiry"), choices=EXPIRY_CHOICES, coerce=int
    )
    block_password_reuse = forms.BooleanField(
        label=_("Block reuse of old passwords"), required=False
    )
    disable_password_change = forms.BooleanField(label=_("Disable password change"), required=False)
    disable_password_recovery = forms.BooleanField(
        label=_("Disable password recovery"), required=False
    )
    force_2fa = forms.BooleanField(label=_("Force two-factor authentication"), required=False)
    allowed_networks = LinesField(
        label=_("IP restrictions"),
        max_items=MAX_NETWORKS,
        help_text=_(
            "At most 5 IPv4/IPv6 addresses or CIDR classes, one per line. "
            "Empty: every address is allowed."
        ),
    )
    api_access = forms.BooleanField(label=_("API access"), required=False)

    def clean_allowed_networks(self):
        return validators.normalize_networks(self.cleaned_data["allowed_networks"])


class ForwardForm(forms.Form):
    forward_to = LinesField(
        label=_("Forward to"),
        max_items=MAX_FORWARDS,
        help_text=_("At most 20 addresses, one per line."),
    )
    forward_keep_copy = forms.BooleanField(label=_("Keep a copy in the account"), required=False)

    def __init__(self, *args, address: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.address = address

    def clean_forward_to(self):
        return validators.normalize_forwards(
            self.cleaned_data["forward_to"], own_address=self.address
        )


class OptionsForm(ForwardForm):
    """Wizard step 4."""

    spam_to_inbox = forms.BooleanField(label=_("Deliver spam to Inbox"), required=False)
    aliases = LinesField(
        label=_("Aliases"),
        max_items=100,
        help_text=_("Extra addresses on your domains, one per line, within the subscription."),
    )

    def clean_aliases(self):
        return [validators.normalize_address(a) for a in self.cleaned_data["aliases"]]


class IncomingMailForm(forms.Form):
    spam_to_inbox = forms.BooleanField(label=_("Deliver spam to Inbox"), required=False)
    reject_all = forms.BooleanField(label=_("Reject all incoming messages"), required=False)
    reject_message = forms.CharField(
        label=_("Automatic reply message"),
        required=False,
        max_length=REJECT_MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Rejected senders read it in their mail server's reply: one line of at most 300 "
            "characters, sent without accents (SMTP replies are plain ASCII: è becomes e)."
        ),
    )


class MasterForm(CleanTextMixin, forms.Form):
    first_name = forms.CharField(label=_("Name / description"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
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
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=time_zone_choices, widget=LongSelect
    )


class AutoresponderForm(CleanTextMixin, forms.Form):
    autoreply_enabled = forms.BooleanField(label=_("Autoresponder on"), required=False)
    autoreply_subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    autoreply_body = forms.CharField(
        label=_("Message"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("At most 5,000 characters."),
    )
    autoreply_start = forms.DateTimeField(
        label=_("Start"),
        required=False,
        validators=[validators.validate_moment],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    autoreply_end = forms.DateTimeField(
        label=_("End"),
        required=False,
        validators=[validators.validate_moment],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class WebmailForm(forms.Form):
    webmail_language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)
    webmail_time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=time_zone_choices, widget=LongSelect
    )
    date_format = forms.ChoiceField(label=_("Date format"), choices=DATE_FORMATS)
    time_format = forms.ChoiceField(label=_("Time format"), choices=TIME_FORMATS)
    in_address_book = forms.BooleanField(
        label=_("Visible in the company address book"), required=False
    )


class PasswordForm(forms.Form):
    """Set a new password: typed, or generated and shown once."""

    password = forms.CharField(
        label=_("New password"), required=False, max_length=128, widget=forms.PasswordInput
    )

    def clean(self):
        data = super().clean()
        data["generate"] = bool(self.data.get("generate"))
        if data["generate"]:
            data["password"] = generate_password()
        elif not data.get("password"):
            self.add_error("password", _("Type a password or generate one."))
        else:
            try:
                validate_password(data["password"])
            except ValidationError as error:
                self.add_error("password", error)
        return data


class AliasForm(CleanTextMixin, forms.Form):
    address = forms.CharField(label=_("Alias address"), max_length=320)

    def clean_address(self):
        return validators.normalize_address(self.cleaned_data["address"])


class SubscriptionForm(forms.Form):
    """Change an account's subscription (owners)."""

    subscription = SubscriptionField(label=_("Subscription"), queryset=None, empty_label=None)

    def __init__(self, *args, subscriptions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscription"].queryset = subscriptions


class PhotoForm(forms.Form):
    """A photo upload: the file's content is checked by the service (accounts/personal.py)."""

    photo = forms.FileField(label=_("Photo"), help_text=_("JPEG, PNG, GIF or WebP, at most 5 MB."))


class GroupCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    address = forms.CharField(label=_("Group address"), max_length=320)
    members = LinesField(
        label=_("Members"),
        max_items=1000,
        help_text=_("Addresses of your email accounts, one per line."),
    )


class GroupRenameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)


class GroupMemberForm(forms.Form):
    address = forms.CharField(label=_("Member address"), max_length=320)


class BulkForm(forms.Form):
    """A bulk action on selected accounts, or on all that match the list's search. The value
    fields are all shown (the page works without JavaScript); the action picks its own.
    Its widgets render through Django's Jinja2 widget templates (the same markup): it sits
    on every account list page, where the Django ones cost ~2 ms (docs/benchmarks.md)."""

    default_renderer = Jinja2()
    action = forms.ChoiceField(label=_("Action"))
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    all = forms.BooleanField(required=False)
    q = forms.CharField(required=False, max_length=100)
    quota_mb = forms.TypedChoiceField(label=_("Storage capacity"), coerce=int, required=False)
    services = forms.MultipleChoiceField(
        label=_("Services"), required=False, widget=forms.CheckboxSelectMultiple
    )
    daily_send_limit = forms.IntegerField(
        label=_("Daily sending limit"), min_value=1, required=False
    )

    def __init__(self, *args, domain: Domain, can_manage: bool, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = [k for k in BulkJob.Kind if k != BulkJob.Kind.IMPORT]
        if not can_manage:
            kinds = [
                k for k in kinds if k not in (BulkJob.Kind.DEACTIVATE, BulkJob.Kind.REACTIVATE)
            ]
        self.fields["action"].choices = [("", _("Choose an action"))] + [
            (k.value, k.label) for k in kinds
        ]
        self.fields["quota_mb"].choices = [("", "—")] + [
            (mb, storage_label(mb)) for mb in domain.storage_options_mb
        ]
        self.fields["services"].choices = [
            (s, SERVICE_LABELS[s]) for s in domain.offered_services()
        ]
        self.fields["ids"].choices = [(v, v) for v in self.data.getlist("ids")] if self.data else []

    def clean(self):
        data = super().clean()
        if not data.get("all") and not data.get("ids"):
            raise ValidationError(_("Select at least one account."))
        return data


# The blank bulk forms rendered so far, by language, role, storage sizes and services.
_BLANK_BULK_FORMS: dict[tuple, dict[str, dict[str, str]]] = {}
BULK_FIELDS_SHOWN = ("action", "quota_mb", "daily_send_limit", "services")


def blank_bulk_form(*, domain: Domain, can_manage: bool) -> dict[str, dict[str, str]]:
    """The account list's bulk form, unbound: each shown field's label and widget HTML. It
    is the same on every page of a domain offering the same storage sizes and services, for
    one language and role, so it is rendered once a process for each (≈0.75 ms less on every
    account list page: docs/benchmarks.md). A posted form is a BulkForm (accounts.bulk_views)."""
    key = (
        get_language(),
        can_manage,
        tuple(domain.storage_options_mb),
        tuple(domain.offered_services()),
    )
    fields = _BLANK_BULK_FORMS.get(key)
    if fields is None:
        form = BulkForm(domain=domain, can_manage=can_manage)
        fields = {
            name: {"label": str(form[name].label), "widget": str(form[name])}
            for name in BULK_FIELDS_SHOWN
        }
        if len(_BLANK_BULK_FORMS) >= 1000:  # bounded: a process serves a few combinations
            _BLANK_BULK_FORMS.clear()
        _BLANK_BULK_FORMS[key] = fields
    return fields


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
