"""Support staff: read what a domain's webmail policy and a user's signatures are. Signature
HTML is shown as text here (escaped), never rendered."""

from django import forms
from django.contrib import admin

from accounts.forms import LongSelect, time_zone_choices

from .models import DomainWebmail, IdentityName, Signature


class DomainWebmailForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=time_zone_choices, widget=LongSelect)


@admin.register(DomainWebmail)
class DomainWebmailAdmin(admin.ModelAdmin):
    form = DomainWebmailForm
    list_display = ("domain", "language", "time_zone", "allow_user_forwarding", "signature_policy")
    list_filter = ("signature_policy", "allow_user_forwarding", "language")
    search_fields = ("domain__name",)
    list_select_related = ("domain",)
    raw_id_fields = ("domain",)


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = ("name", "identity", "account", "is_default", "bcc_sender", "updated_at")
    search_fields = ("identity", "account__address", "name")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
    readonly_fields = ("html", "text", "created_at", "updated_at")


@admin.register(IdentityName)
class IdentityNameAdmin(admin.ModelAdmin):
    list_display = ("address", "display_name", "account")
    search_fields = ("address", "account__address")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
