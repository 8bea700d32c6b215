from django import forms
from django.utils.translation import gettext_lazy as _

from tempusmail.forms import CleanTextMixin

from .models import SERVICE_LABELS, SERVICES_HELP, Plan
from .validators import normalize_claim


def storage_label(mb: int) -> str:
    return f"{mb // 1024} GB" if mb % 1024 == 0 else f"{mb} MB"


class DomainCreateForm(CleanTextMixin, forms.Form):
    name = forms.CharField(label=_("Domain name"), max_length=253)
    organization = forms.ModelChoiceField(label=_("Organization"), queryset=None)

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        if len(organizations) == 1:
            self.fields["organization"].initial = organizations[0].pk
            self.fields["organization"].widget = forms.HiddenInput()

    def clean_name(self):
        return normalize_claim(self.cleaned_data["name"])


class DomainSettingsForm(forms.Form):
    services = forms.MultipleChoiceField(
        label=_("Services offered to accounts"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=SERVICES_HELP,
    )
    storage_options_mb = forms.TypedMultipleChoiceField(
        label=_("Storage capacities offered"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    default_daily_send_limit = forms.IntegerField(
        label=_("Default daily sending limit"), min_value=1
    )

    def __init__(self, *args, plan: Plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].choices = [
            (s, SERVICE_LABELS[s]) for s in SERVICE_LABELS if s in plan.services
        ]
        self.fields["storage_options_mb"].choices = [
            (mb, storage_label(mb)) for mb in plan.storage_options_mb
        ]
        self.fields["default_daily_send_limit"].max_value = plan.max_daily_send_limit
        self.fields["default_daily_send_limit"].help_text = _("Your plan allows up to %(max)d.") % {
            "max": plan.max_daily_send_limit
        }
