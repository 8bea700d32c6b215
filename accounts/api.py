"""The email-accounts part of the JSON API (v1): an organization token manages accounts and
aliases through the panel's services, access checks and forms (same rules, same messages)."""

from django.contrib.auth.hashers import make_password
from django.http import HttpResponse, JsonResponse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

from domains.access import get_domain_for
from tempusmail.api import BadRequest, FieldErrors, body, endpoint, form_value, json_value, page

from . import forms, services
from .access import check_credentials_change, get_account_for, get_alias_for
from .models import EmailAccount, User
from .subscriptions import offered_subscriptions

SECTION_FORMS = (
    forms.MasterForm,
    forms.GeneralForm,
    forms.ForwardForm,
    forms.IncomingMailForm,
    forms.SecurityForm,
    forms.AutoresponderForm,
    forms.WebmailForm,
)
SETTINGS = frozenset().union(*(f.base_fields for f in SECTION_FORMS))
# What an owner may change about their own mailbox with a personal token.
# Not the address-book visibility (the admin's choice) nor the recovery address: a stolen
# token must not become a password reset.
PERSONAL_FIELDS = frozenset(
    (
        set(forms.AutoresponderForm.base_fields)
        | set(forms.ForwardForm.base_fields)
        | set(forms.WebmailForm.base_fields)
        | {
            "language",
            "time_zone",
            "phone",
            "job_title",
            "postal_address",
            "birthdate",
        }
    )
    - {"in_address_book"}
)
# Names are given at the top level of a create request, not again among its options.
CREATE_OPTIONS = SETTINGS - {"first_name", "last_name"}


def account_json(account: EmailAccount) -> dict:
    data = {
        "id": account.pk,
        "address": account.address,
        "domain": account.domain_id,
        "status": account.status,
        "is_active": account.is_active,
        "subscription": account.subscription_id,
        "payment_due": account.payment_due,
    }
    for name in sorted(services.EDITABLE_FIELDS):
        owner = account.user if name in services.USER_FIELDS else account
        data[name] = json_value(getattr(owner, name))
    return data


def alias_json(alias) -> dict:
    return {"id": alias.pk, "address": alias.address, "account": alias.account_id}


def clean_values(account: EmailAccount, payload: dict, *, allowed=SETTINGS) -> dict:
    """Validate the changed settings with the panel's forms, each section filled with the
    account's current values where the request gives none."""
    unknown = set(payload) - (SETTINGS & allowed)
    if unknown:
        raise BadRequest(_("Unknown settings: %(names)s") % {"names": ", ".join(sorted(unknown))})
    values, errors = {}, {}
    for form_class in SECTION_FORMS:
        keys = set(payload) & set(form_class.base_fields)
        if not keys:
            continue
        data = MultiValueDict()
        for name, field in form_class.base_fields.items():
            if name in payload:
                raw = payload[name]
            else:
                raw = getattr(account.user if name in services.USER_FIELDS else account, name)
                raw = json_value(raw) if not isinstance(raw, list | bool) else raw
            data.setlist(name, form_value(field, raw, name))
        kwargs = {}
        if issubclass(form_class, forms.ServicesForm):
            kwargs["domain"] = account.domain
            kwargs["subscription"] = account.subscription
        if form_class is forms.ForwardForm:
            kwargs["address"] = account.address
        form = form_class(data, **kwargs)
        if form.is_valid():
            values.update({k: form.cleaned_data[k] for k in keys})
        else:
            errors.update(FieldErrors.of(form).fields)
    if errors:
        raise FieldErrors(errors)
    return values


def _account(request, token, pk, *, write=False, manage=False) -> EmailAccount:
    return get_account_for(
        request.user, pk, write=write, manage=manage, organization_id=token.organization_id
    )


@endpoint(("GET", "POST"))
def domain_accounts(request, token, domain_pk):
    domain = get_domain_for(
        request.user,
        domain_pk,
        write=request.method == "POST",
        organization_id=token.organization_id,
    )
    if request.method == "GET":
        qs = (
            EmailAccount.objects.filter(domain=domain)
            .select_related("user", "domain")
            .order_by("local_part")
        )
        return page(request, qs, account_json)
    data = body(request)
    step1 = MultiValueDict()
    for name in ("local_part", "first_name", "last_name", "password"):
        value = data.get(name, "")
        if not isinstance(value, str):
            raise BadRequest(_("%(name)s must be a string.") % {"name": name})
        step1.setlist(name, [value])
    form = forms.NewAccountForm(step1, domain=domain)
    if not form.is_valid():
        raise FieldErrors.of(form)
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise BadRequest(_("options must be an object."))
    subscription = None
    if data.get("subscription") is not None:
        chosen = data["subscription"]
        if not isinstance(chosen, int) or isinstance(chosen, bool):
            raise BadRequest(_("subscription must be a subscription id."))
        subscription = offered_subscriptions().filter(pk=chosen).first()
        if subscription is None:
            raise FieldErrors({"subscription": [_("This subscription is not offered.")]})
    draft = EmailAccount(
        domain=domain,
        address=f"{form.cleaned_data['local_part']}@{domain.name}",
        quota_mb=subscription.storage_mb
        if subscription
        else min(domain.storage_options_mb, default=0),
        daily_send_limit=domain.default_daily_send_limit,
        services=list(domain.services),
        first_name=form.cleaned_data["first_name"],
        subscription=subscription,
    )
    draft.user = User()
    account = services.account_create(
        domain=domain,
        local_part=form.cleaned_data["local_part"],
        first_name=form.cleaned_data["first_name"],
        last_name=form.cleaned_data["last_name"],
        password_hash=make_password(form.cleaned_data["password"]),
        options=clean_values(draft, options, allowed=CREATE_OPTIONS),
        subscription=subscription,
    )
    return JsonResponse(account_json(account), status=201)


@endpoint(("GET", "PATCH", "DELETE"))
def account_detail(request, token, pk):
    if request.method == "GET":
        return JsonResponse(account_json(_account(request, token, pk)))
    if request.method == "DELETE":
        account = _account(request, token, pk, manage=True)
        services.account_delete(account=account)
        return JsonResponse({}, status=202)
    account = _account(request, token, pk, write=True)
    changed = services.account_update(account=account, values=clean_values(account, body(request)))
    return JsonResponse({**account_json(account), "changed": sorted(changed)})


@endpoint(("POST",))
def account_password(request, token, pk):
    account = _account(request, token, pk, write=True)
    check_credentials_change(account, user=request.user)
    data = body(request)
    if not isinstance(data.get("password"), str) or not data["password"]:
        raise BadRequest(_("password is required."))
    services.account_set_password(account=account, password=data["password"][:200])
    return JsonResponse({"ok": True})


@endpoint(("POST",))
def account_deactivate(request, token, pk):
    account = _account(request, token, pk, manage=True)
    services.account_deactivate(account=account)
    return JsonResponse(account_json(account))


@endpoint(("POST",))
def account_reactivate(request, token, pk):
    account = _account(request, token, pk, manage=True)
    services.account_reactivate(account=account)
    return JsonResponse(account_json(account))


@endpoint(("GET", "POST"))
def account_aliases(request, token, pk):
    account = _account(request, token, pk, write=request.method == "POST")
    if request.method == "GET":
        return JsonResponse({"results": [alias_json(a) for a in account.aliases.all()]})
    data = body(request)
    if not isinstance(data.get("address"), str):
        raise BadRequest(_("address is required."))
    form = forms.AliasForm({"address": data["address"]})
    if not form.is_valid():
        raise BadRequest(" ".join(form.errors["address"]))
    alias = services.alias_add(account=account, address=form.cleaned_data["address"])
    return JsonResponse(alias_json(alias), status=201)


@endpoint(("DELETE",))
def alias_detail(request, token, pk, alias_pk):
    account = _account(request, token, pk, write=True)
    services.alias_delete(alias=get_alias_for(request.user, alias_pk, account=account))
    return HttpResponse(status=204)
