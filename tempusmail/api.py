"""The JSON API's transport, shared by every app's `api.py`: token authentication (by the
authenticator the settings name), JSON bodies, errors, pagination and the bridge that feeds
JSON values to the panel's own forms, so the API validates with the same rules and messages."""

import json
from functools import cache, wraps

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from .audit import audit
from .text import text_problem

PAGE_SIZE = 100
MAX_BODY = 64 * 1024
MAX_DEPTH = 20
MAX_PAGE = 100_000
ORGANIZATION, PERSONAL = "organization", "personal"


class IpRefused(Exception):
    """The token's owner may not use it from this client address."""


class BadRequest(Exception):
    pass


class FieldErrors(BadRequest):
    """Form errors per field, answered as {"error": ..., "fields": {...}}."""

    def __init__(self, fields: dict):
        super().__init__(_("Some values are not valid."))
        self.fields = fields

    @classmethod
    def of(cls, form: forms.Form) -> "FieldErrors":
        return cls({k: [str(m) for m in v] for k, v in form.errors.items()})


def error(message, status=400, fields=None) -> JsonResponse:
    body = {"error": str(message)}
    if fields:
        body["fields"] = fields
    return JsonResponse(body, status=status)


def _clean_text(value):
    """Every string of a JSON body, names included, under tempusmail.text's rules."""
    if isinstance(value, str):
        if problem := text_problem(value):
            raise BadRequest(problem)
    elif isinstance(value, list):
        for item in value:
            _clean_text(item)
    elif isinstance(value, dict):
        for k, v in value.items():
            _clean_text(k)
            _clean_text(v)
    return value


def _too_deep(raw: bytes) -> bool:
    """Whether arrays/objects nest deeper than MAX_DEPTH, found without parsing (the parser
    recurses: 10,000 levels exhaust the stack). Brackets inside strings do not count."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def body(request) -> dict:
    """The request's JSON object: at most MAX_BODY bytes and MAX_DEPTH levels, text without
    unpaired surrogates or control characters (400 with the reason otherwise)."""
    if len(request.body) > MAX_BODY:
        raise BadRequest(_("The request body is too large."))
    if _too_deep(request.body):
        raise BadRequest(
            _("The request body is nested too deeply (at most %(max)d levels).")
            % {"max": MAX_DEPTH}
        )
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest(_("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise BadRequest(_("The request body must be a JSON object."))
    return _clean_text(data)


@cache
def _authenticator():
    """settings.API_AUTHENTICATOR: request -> token or None (raises IpRefused)."""
    return import_string(settings.API_AUTHENTICATOR)


def endpoint(methods: tuple[str, ...], *, kind: str = ORGANIZATION):
    """Token auth, method check, and every refusal as JSON (404 for another tenant's object)."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                token = _authenticator()(request)
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
            except FieldErrors as exc:
                return error(exc, 400, exc.fields)
            except BadRequest as exc:
                return error(exc, 400)
            except ValidationError as exc:
                fields = exc.message_dict if hasattr(exc, "error_dict") else None
                return error(" ".join(exc.messages), 400, fields)

        wrapper.api_methods = methods
        wrapper.api_kind = kind
        return wrapper

    return decorate


def page_number(raw) -> int:
    """A requested page number, clamped to 1..MAX_PAGE (a huge one would overflow SQL)."""
    try:
        return min(max(int(str(raw)[:12]), 1), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


def page(request, qs, render) -> JsonResponse:
    current = Paginator(qs, PAGE_SIZE).get_page(page_number(request.GET.get("page")))
    return JsonResponse(
        {
            "count": current.paginator.count,
            "page": current.number,
            "pages": current.paginator.num_pages,
            "results": [render(o) for o in current],
        }
    )


def json_value(v):
    return v.isoformat() if hasattr(v, "isoformat") else v


def form_value(field: forms.Field, value, name: str) -> list[str]:
    """One JSON value as the list of strings a form field would receive from a POST."""
    if isinstance(field, forms.BooleanField):
        if not isinstance(value, bool):
            raise BadRequest(_("%(name)s must be true or false.") % {"name": name})
        return ["on"] if value else []
    if isinstance(field, forms.MultipleChoiceField) or getattr(field, "lines", False):
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
