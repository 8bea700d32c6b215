"""The JSON API (v1). Organization tokens manage domains, accounts and aliases through the same
services and access checks as the panel; personal tokens read and change the owner's mailbox."""

import json
from functools import wraps

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from accounts import forms as account_forms
from accounts import services as account_services
from accounts.access import get_account_for, get_alias_for
from accounts.models import EmailAccount, User
from domains import services as domain_services
from domains.access import domains_for, get_domain_for, organizations_for
from domains.forms import DomainSettingsForm
from domains.models import Domain
from tempusmail.audit import audit
from tempusmail.tenancy import not_found

from ..models import ApiToken
from ..services import has_2fa
from .auth import IpRefused, authenticate_token
from .openapi import document

PAGE_SIZE = 100
MAX_BODY = 64 * 1024


def error(message, status=400, fields=None) -> JsonResponse:
    body = {"error": str(message)}
    if fields:
        body["fields"] = fields
    return JsonResponse(body, status=status)


class BadRequest(Exception):
    pass


def _no_nul(value):
    if isinstance(value, str):
        if "\x00" in value:
            raise BadRequest(_("Text may not contain NUL characters."))
    elif isinstance(value, list):
        for item in value:
            _no_nul(item)
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k)
            _no_nul(v)
    return value


def body(request) -> dict:
    if len(request.body) > MAX_BODY:
        raise BadRequest(_("The request body is too large."))
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(_("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise BadRequest(_("The request body must be a JSON object."))
    return _no_nul(data)


def endpoint(methods: tuple[str, ...], *, kind: str = ApiToken.Kind.ORGANIZATION):
    """Token auth, method check, and every refusal as JSON (404 for another tenant's object)."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                token = authenticate_token(request)
            except IpRefused:
                audit(action="ip.refused", obj=getattr(request.user, "mailbox", None))
                return error(_("Access from this network is not allowed."), 403)
            if token is None:
                return error(_("A valid API token is required."), 401)
            if token.kind != kind:
                return error(_("This endpoint needs a different kind of token."), 403)
            if request.method not in methods:
                return error(_("Method not allowed."), 405)
            try:
                return view(request, token, *args, **kwargs)
            except Http404:
                return error(_("Not found."), 404)
            except PermissionDenied:
                return error(_("You are not authorized to perform this operation."), 403)
            except BadRequest as exc:
                return error(exc, 400)
            except ValidationError as exc:
                return error(" ".join(exc.messages), 400)

        wrapper.api_methods = methods
        wrapper.api_kind = kind
        return wrapper

    return decorate


def _in_org(obj, token):
    if obj.organization_id != token.organization_id:
        raise not_found()
    return obj


def _page(request, qs, render):
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return JsonResponse(
        {
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "results": [render(o) for o in page],
        }
    )


def domain_json(domain: Domain) -> dict:
    return {
        "id": domain.pk,
        "name": domain.name,
        "display_name": domain.display_name,
        "services": domain.services,
        "storage_options_mb": domain.storage_options_mb,
        "default_daily_send_limit": domain.default_daily_send_limit,
    }


def _value(v):
    return v.isoformat() if hasattr(v, "isoformat") else v


def account_json(account: EmailAccount) -> dict:
    data = {
        "id": account.pk,
        "address": account.address,
        "domain": account.domain_id,
        "status": account.status,
        "is_active": account.is_active,
    }
    for name in sorted(account_services.EDITABLE_FIELDS):
        owner = account.user if name in account_services.USER_FIELDS else account
        data[name] = _value(getattr(owner, name))
    return data


# --- settings values through the panel's own forms -----------------------------------------

SECTION_FORMS = (
    account_forms.MasterForm,
    account_forms.GeneralForm,
    account_forms.ForwardForm,
    account_forms.OtherForm,
    account_forms.SecurityForm,
    account_forms.AutoresponderForm,
    account_forms.WebmailForm,
)
# What an owner may change about their own mailbox with a personal token.
PERSONAL_FIELDS = frozenset(
    set(account_forms.AutoresponderForm.base_fields)
    | set(account_forms.ForwardForm.base_fields)
    | set(account_forms.WebmailForm.base_fields)
    | {"language", "time_zone", "phone", "job_title", "external_email"}
)


# Names are given at the top level of a create request, not again among its options.
CREATE_OPTIONS = frozenset(
    set().union(*(f.base_fields for f in SECTION_FORMS)) - {"first_name", "last_name"}
)


def _form_value(field, value, name):
    from django import forms

    if isinstance(field, forms.BooleanField):
        if not isinstance(value, bool):
            raise BadRequest(_("%(name)s must be true or false.") % {"name": name})
        return ["on"] if value else []
    if isinstance(field, forms.MultipleChoiceField | account_forms.LinesField):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadRequest(_("%(name)s must be a list of strings.") % {"name": name})
        return list(value) if isinstance(field, forms.MultipleChoiceField) else ["\n".join(value)]
    if value is None:
        return [""]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRequest(_("%(name)s has the wrong type.") % {"name": name})
    if isinstance(value, str) and isinstance(field, forms.DateTimeField):
        value = value.replace("T", " ")[:32]
    return [str(value)]


def clean_values(account: EmailAccount, payload: dict, *, allowed=None) -> dict:
    """Validate the changed settings with the panel's forms (same rules, same messages)."""
    known = set().union(*(f.base_fields for f in SECTION_FORMS))
    allowed = known if allowed is None else allowed
    unknown = set(payload) - (known & allowed)
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
                raw = getattr(
                    account.user if name in account_services.USER_FIELDS else account, name
                )
                raw = _value(raw) if not isinstance(raw, list | bool) else raw
            data.setlist(name, _form_value(field, raw, name))
        kwargs = {}
        if issubclass(form_class, account_forms.ServicesForm):
            kwargs["domain"] = account.domain
        if form_class is account_forms.ForwardForm:
            kwargs["address"] = account.address
        form = form_class(data, **kwargs)
        if form.is_valid():
            values.update({k: form.cleaned_data[k] for k in keys})
        else:
            errors.update({k: [str(m) for m in v] for k, v in form.errors.items()})
    if errors:
        raise ValidationErrorWithFields(errors)
    return values


class ValidationErrorWithFields(BadRequest):
    def __init__(self, fields):
        super().__init__(_("Some values are not valid."))
        self.fields = fields


def _fields_error(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ValidationErrorWithFields as exc:
            return error(exc, 400, exc.fields)

    return wrapper


# --- organization endpoints -----------------------------------------------------------------


@endpoint(("GET", "POST"))
@_fields_error
def domains(request, token):
    if request.method == "POST":
        data = body(request)
        if not organizations_for(request.user, write=True).filter(pk=token.organization_id):
            raise PermissionDenied
        if not isinstance(data.get("name"), str):
            raise BadRequest(_("name is required."))
        domain = domain_services.domain_create(
            organization=token.organization, name=data["name"][:253]
        )
        return JsonResponse(domain_json(domain), status=201)
    qs = domains_for(request.user).filter(organization_id=token.organization_id).order_by("name")
    return _page(request, qs, domain_json)


@endpoint(("GET", "PATCH", "DELETE"))
@_fields_error
def domain_detail(request, token, pk):
    write = request.method != "GET"
    domain = _in_org(
        get_domain_for(request.user, pk, write=write, manage=request.method == "DELETE"), token
    )
    if request.method == "DELETE":
        domain_services.domain_delete(domain=domain)
        return HttpResponse(status=204)
    if request.method == "PATCH":
        data = body(request)
        current = {
            "services": domain.services,
            "storage_options_mb": [str(v) for v in domain.storage_options_mb],
            "default_daily_send_limit": domain.default_daily_send_limit,
        }
        unknown = set(data) - set(current)
        if unknown:
            raise BadRequest(
                _("Unknown settings: %(names)s") % {"names": ", ".join(sorted(unknown))}
            )
        form_data = MultiValueDict()
        for name, value in {**current, **data}.items():
            if name == "default_daily_send_limit":
                if isinstance(value, bool) or not isinstance(value, int | str):
                    raise BadRequest(_("%(name)s has the wrong type.") % {"name": name})
                form_data.setlist(name, [str(value)])
            else:
                if not isinstance(value, list) or any(
                    isinstance(v, bool | dict | list) for v in value
                ):
                    raise BadRequest(_("%(name)s must be a list.") % {"name": name})
                form_data.setlist(name, [str(v) for v in value])
        form = DomainSettingsForm(form_data, plan=domain.organization.plan)
        if not form.is_valid():
            raise ValidationErrorWithFields(
                {k: [str(m) for m in v] for k, v in form.errors.items()}
            )
        domain = domain_services.domain_update_settings(domain=domain, **form.cleaned_data)
    return JsonResponse(domain_json(domain))


@endpoint(("GET", "POST"))
@_fields_error
def domain_accounts(request, token, domain_pk):
    domain = _in_org(get_domain_for(request.user, domain_pk, write=request.method == "POST"), token)
    if request.method == "GET":
        qs = EmailAccount.objects.filter(domain=domain).select_related("user").order_by("address")
        return _page(request, qs, account_json)
    data = body(request)
    step1 = MultiValueDict()
    for name in ("local_part", "first_name", "last_name", "password"):
        value = data.get(name, "")
        if not isinstance(value, str):
            raise BadRequest(_("%(name)s must be a string.") % {"name": name})
        step1.setlist(name, [value])
    form = account_forms.NewAccountForm(step1, domain=domain)
    if not form.is_valid():
        raise ValidationErrorWithFields({k: [str(m) for m in v] for k, v in form.errors.items()})
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise BadRequest(_("options must be an object."))
    draft = EmailAccount(
        domain=domain,
        address=f"{form.cleaned_data['local_part']}@{domain.name}",
        quota_mb=min(domain.storage_options_mb, default=0),
        daily_send_limit=domain.default_daily_send_limit,
        services=list(domain.services),
        first_name=form.cleaned_data["first_name"],
    )
    draft.user = User()
    account = account_services.account_create(
        domain=domain,
        local_part=form.cleaned_data["local_part"],
        first_name=form.cleaned_data["first_name"],
        last_name=form.cleaned_data["last_name"],
        password_hash=_hash(form.cleaned_data["password"]),
        options=clean_values(draft, options, allowed=CREATE_OPTIONS),
    )
    return JsonResponse(account_json(account), status=201)


def _hash(password: str) -> str:
    from django.contrib.auth.hashers import make_password

    return make_password(password)


def _account(request, token, pk, *, write=False, manage=False):
    return _in_org(get_account_for(request.user, pk, write=write, manage=manage), token)


@endpoint(("GET", "PATCH", "DELETE"))
@_fields_error
def account_detail(request, token, pk):
    if request.method == "GET":
        return JsonResponse(account_json(_account(request, token, pk)))
    if request.method == "DELETE":
        account = _account(request, token, pk, manage=True)
        account_services.account_delete(account=account)
        return JsonResponse({}, status=202)
    account = _account(request, token, pk, write=True)
    values = clean_values(account, body(request))
    changed = account_services.account_update(account=account, values=values)
    return JsonResponse({**account_json(account), "changed": sorted(changed)})


@endpoint(("POST",))
def account_password(request, token, pk):
    account = _account(request, token, pk, write=True)
    data = body(request)
    if not isinstance(data.get("password"), str) or not data["password"]:
        raise BadRequest(_("password is required."))
    account_services.account_set_password(account=account, password=data["password"][:200])
    return JsonResponse({"ok": True})


@endpoint(("POST",))
def account_deactivate(request, token, pk):
    account = _account(request, token, pk, manage=True)
    account_services.account_deactivate(account=account)
    return JsonResponse(account_json(account))


@endpoint(("POST",))
def account_reactivate(request, token, pk):
    account = _account(request, token, pk, manage=True)
    account_services.account_reactivate(account=account)
    return JsonResponse(account_json(account))


def alias_json(alias) -> dict:
    return {"id": alias.pk, "address": alias.address, "account": alias.account_id}


@endpoint(("GET", "POST"))
def account_aliases(request, token, pk):
    account = _account(request, token, pk, write=request.method == "POST")
    if request.method == "GET":
        return JsonResponse({"results": [alias_json(a) for a in account.aliases.all()]})
    data = body(request)
    if not isinstance(data.get("address"), str):
        raise BadRequest(_("address is required."))
    form = account_forms.AliasForm({"address": data["address"]})
    if not form.is_valid():
        raise BadRequest(" ".join(form.errors["address"]))
    alias = account_services.alias_add(account=account, address=form.cleaned_data["address"])
    return JsonResponse(alias_json(alias), status=201)


@endpoint(("DELETE",))
def alias_detail(request, token, pk, alias_pk):
    account = _account(request, token, pk, write=True)
    alias = get_alias_for(request.user, alias_pk, account=account)
    account_services.alias_delete(alias=alias)
    return HttpResponse(status=204)


# --- personal endpoints ---------------------------------------------------------------------


@endpoint(("GET", "PATCH"), kind=ApiToken.Kind.PERSONAL)
@_fields_error
def me(request, token):
    account = (
        EmailAccount.objects.select_related("domain__organization__plan", "user")
        .filter(user=request.user)
        .first()
    )
    if account is None:
        raise not_found()
    if request.method == "PATCH":
        values = clean_values(account, body(request), allowed=PERSONAL_FIELDS)
        if set(values) & set(account_forms.ForwardForm.base_fields):
            # the same rule as the portal: users forward only when the domain allows it
            from webmail_settings.services import ensure_forwarding_allowed

            ensure_forwarding_allowed(account)
        account_services.account_update(account=account, values=values)
    return JsonResponse({**account_json(account), "two_factor": has_2fa(request.user)})


def openapi(request):
    return JsonResponse(document(request))
