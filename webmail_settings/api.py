"""The end user's part of the JSON API (v1): a personal token reads and changes the owner's
own mailbox, within what the portal lets them change."""

from django.http import JsonResponse

from accounts import forms as account_forms
from accounts import services as account_services
from accounts.api import PERSONAL_FIELDS, account_json, clean_values
from security.services import has_2fa
from tempusmail.api import PERSONAL, body, endpoint

from .access import get_mailbox_for
from .services import ensure_forwarding_allowed


@endpoint(("GET", "PATCH"), kind=PERSONAL)
def me(request, token):
    account = get_mailbox_for(request.user)
    if request.method == "PATCH":
        values = clean_values(account, body(request), allowed=PERSONAL_FIELDS)
        if set(values) & set(account_forms.ForwardForm.base_fields):
            ensure_forwarding_allowed(account)  # as in the portal: only if the domain allows it
        account_services.account_update(account=account, values=values)
    return JsonResponse({**account_json(account), "two_factor": has_2fa(request.user)})
