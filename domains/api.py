"""The domains part of the JSON API (v1): an organization token lists, creates, changes and
deletes its organization's domains through the panel's services and access checks."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

from tempusmail.api import BadRequest, FieldErrors, body, endpoint, page

from . import services
from .access import domains_for, get_domain_for, organizations_for
from .forms import DomainSettingsForm
from .models import Domain

SETTINGS = ("services", "storage_options_mb", "default_daily_send_limit")


def domain_json(domain: Domain) -> dict:
    return {
        "id": domain.pk,
        "name": domain.name,
        "display_name": domain.display_name,
        "services": domain.services,
        "storage_options_mb": domain.storage_options_mb,
        "default_daily_send_limit": domain.default_daily_send_limit,
    }


@endpoint(("GET", "POST"))
def domains(request, token):
    if request.method == "POST":
        data = body(request)
        if not organizations_for(request.user, write=True).filter(pk=token.organization_id):
            raise PermissionDenied
        if not isinstance(data.get("name"), str):
            raise BadRequest(_("name is required."))
        domain = services.domain_create(organization=token.organization, name=data["name"][:253])
        return JsonResponse(domain_json(domain), status=201)
    qs = domains_for(request.user).filter(organization_id=token.organization_id).order_by("name")
    return page(request, qs, domain_json)


@endpoint(("GET", "PATCH", "DELETE"))
def domain_detail(request, token, pk):
    domain = get_domain_for(
        request.user,
        pk,
        write=request.method != "GET",
        manage=request.method == "DELETE",
        organization_id=token.organization_id,
    )
    if request.method == "DELETE":
        services.domain_delete(domain=domain)
        return HttpResponse(status=204)
    if request.method == "PATCH":
        form = DomainSettingsForm(
            _settings_data(domain, body(request)), plan=domain.organization.plan
        )
        if not form.is_valid():
            raise FieldErrors.of(form)
        domain = services.domain_update_settings(domain=domain, **form.cleaned_data)
    return JsonResponse(domain_json(domain))


def _settings_data(domain: Domain, data: dict) -> MultiValueDict:
    """The domain's current settings overlaid with the request's, as the form's POST data."""
    unknown = set(data) - set(SETTINGS)
    if unknown:
        raise BadRequest(_("Unknown settings: %(names)s") % {"names": ", ".join(sorted(unknown))})
    current = {
        "services": domain.services,
        "storage_options_mb": [str(v) for v in domain.storage_options_mb],
        "default_daily_send_limit": domain.default_daily_send_limit,
    }
    form_data = MultiValueDict()
    for name, value in {**current, **data}.items():
        if name == "default_daily_send_limit":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise BadRequest(_("%(name)s has the wrong type.") % {"name": name})
            form_data.setlist(name, [str(value)])
        else:
            if not isinstance(value, list) or any(isinstance(v, bool | dict | list) for v in value):
                raise BadRequest(_("%(name)s must be a list.") % {"name": name})
            form_data.setlist(name, [str(v) for v in value])
    return form_data
