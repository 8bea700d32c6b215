"""Forms of the organization pages (credit, members) and of the staff's credit entries."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import billing
from .models import CreditEntry, Role


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.OPERATOR)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class TwoFactorRuleForm(forms.Form):
    members_require_2fa = forms.BooleanField(
        label=_("Members must use two-factor authentication"), required=False
    )


class CreditEntryAdminForm(forms.ModelForm):
    """Staff add credit (top-up) or correct it (adjustment, either sign, with a reason)."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (CreditEntry.Kind.TOPUP, CreditEntry.Kind.TOPUP.label),
            (CreditEntry.Kind.ADJUSTMENT, CreditEntry.Kind.ADJUSTMENT.label),
        ],
    )
    amount = forms.CharField(
        label=_("Amount (EUR)"),
        max_length=20,
        help_text=_("e.g. 25.00; an adjustment may be negative (never below a zero balance)."),
    )
    description = forms.CharField(label=_("Reason"), max_length=300, required=False)

    class Meta:
        model = CreditEntry
        fields = ["organization", "kind", "amount", "description"]

    def clean_amount(self):
        allow_negative = self.data.get("kind") == CreditEntry.Kind.ADJUSTMENT
        return billing.parse_amount(self.cleaned_data["amount"], allow_negative=allow_negative)

    def clean(self):
        data = super().clean()
        kind, amount, org = data.get("kind"), data.get("amount"), data.get("organization")
        if kind == CreditEntry.Kind.ADJUSTMENT and not data.get("description"):
            self.add_error("description", _("Say why the balance is adjusted."))
        if kind and amount is not None and org is not None and org.credit + amount < 0:
            # Checked again under the organization's lock when the entry is written.
            self.add_error(
                "amount",
                _("The balance is %(balance)s: it cannot go below zero.")
                % {"balance": billing.format_eur(org.credit)},
            )
        return data

    def write(self) -> CreditEntry:
        """Through the ledger's service, never a plain INSERT: lock, balance, audit."""
        data = self.cleaned_data
        call = billing.top_up if data["kind"] == CreditEntry.Kind.TOPUP else billing.adjust
        return call(
            organization=data["organization"],
            amount=data["amount"],
            description=data["description"],
        )
