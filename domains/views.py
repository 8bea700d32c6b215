from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.http.request import RawPostDataException
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tempusmail.views import add_service_error

from . import autoconfig, dkim, dns, services
from .access import domains_for, get_domain_for, organizations_for, role_flags
from .forms import DomainCreateForm, DomainSettingsForm
from .middleware import META_KEY
from .models import CheckResult, ClaimNotice, DnsCheck


@login_required
def domain_list(request):
    q = request.GET.get("q", "").strip()[:100]
    domains = domains_for(request.user).select_related("organization")
    if q:
        domains = domains.filter(name__icontains=q)
    # The accounts count and storage are counters on Domain (accounts.services and
    # collect_usage keep them): summing every mailbox of the shown domains grew with their
    # size (12 ms at 100,000 in one domain, docs/benchmarks.md).
    page = Paginator(domains.order_by("name", "pk"), 50).get_page(request.GET.get("page"))
    writable = organizations_for(request.user, write=True)
    notices = ClaimNotice.objects.filter(
        organization__memberships__user=request.user, dismissed_at__isnull=True
    ).order_by("-created_at")[:20]
    return render(
        request,
        "domains/domain_list.html",
        {"page": page, "q": q, "can_add": writable.exists(), "notices": notices},
    )


@login_required
@require_POST
def notices_dismiss(request):
    services.notices_dismiss(organizations=organizations_for(request.user, write=True))
    return redirect("domains:list")


@login_required
@require_http_methods(["GET", "POST"])
def domain_create(request):
    organizations = organizations_for(request.user, write=True)
    if not organizations:
        return render(request, "403.html", status=403)
    form = DomainCreateForm(request.POST or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        try:
            domain = services.domain_create(
                organization=form.cleaned_data["organization"], name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _(
                    "Domain %(name)s added. Publish the TXT record below to prove that you own "
                    "it: nothing of the domain is live until it is verified."
                )
                % {"name": domain.display_name},
            )
            return redirect("domains:dns", pk=domain.pk)
    return render(request, "domains/domain_create.html", {"form": form})


@login_required
def domain_detail(request, pk):
    get_domain_for(request.user, pk)
    return redirect("accounts:list", domain_pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def domain_settings(request, pk):
    domain = get_domain_for(request.user, pk, write=request.method == "POST")
    plan = domain.organization.plan
    initial = {
        "services": domain.services,
        "storage_options_mb": domain.storage_options_mb,
        "default_daily_send_limit": domain.default_daily_send_limit,
    }
    form = DomainSettingsForm(request.POST or None, initial=initial, plan=plan)
    if request.method == "POST" and form.is_valid():
        try:
            services.domain_update_settings(domain=domain, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Domain settings saved."))
            return redirect("domains:settings", pk=domain.pk)
    return render(
        request,
        "domains/domain_settings.html",
        {
            "domain": domain,
            "form": form,
            "tab": "settings",
            "delete_blocker": services.domain_delete_blocker(domain),
            **role_flags(domain.member_role),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def domain_delete(request, pk):
    domain = get_domain_for(request.user, pk, manage=True)
    if request.method == "POST":
        try:
            services.domain_delete(domain=domain)
        except ValidationError as error:
            messages.error(request, error.messages[0])
            return redirect("domains:settings", pk=pk)
        messages.success(request, _("Domain %(name)s deleted.") % {"name": domain.display_name})
        return redirect("domains:list")
    if blocker := services.domain_delete_blocker(domain):  # not offered: nothing to confirm
        messages.error(request, blocker)
        return redirect("domains:settings", pk=pk)
    return render(request, "domains/domain_delete.html", {"domain": domain})


# --- ownership, DNS health, DKIM (the DNS tab) ---------------------------------------------

VERIFY_MESSAGES = {
    CheckResult.MISSING: gettext_lazy(
        "No TXT record with the token was found yet. DNS changes can take "
        "a while to appear; we also check again automatically."
    ),
    CheckResult.WRONG: gettext_lazy(
        "A TXT record exists there, but it does not hold this domain's token."
    ),
    CheckResult.UNREACHABLE: gettext_lazy(
        "Could not check — DNS did not answer. We will try again automatically in a few minutes."
    ),
}


@login_required
def domain_dns(request, pk):
    domain = get_domain_for(request.user, pk)
    keys = list(domain.dkim_keys.all())
    check = DnsCheck.objects.filter(domain=domain).first()
    rows = dns.health_rows(domain, keys, check.results if check else [])
    context = {
        "domain": domain,
        "tab": "dns",
        "check": check,
        "rows": rows,
        "keys": [(key, dkim.zone_text(key.record_value)) for key in keys],
        "verify_zone_text": dkim.zone_text(domain.verification_record_value),
        "verify_message": VERIFY_MESSAGES.get(domain.verification_result, ""),
        "verify_answer": domain.verification_answer.splitlines(),
        **role_flags(domain.member_role),
    }
    if request.htmx and request.GET.get("part") == "health":
        return render(request, "domains/_dns_health.html", context)
    return render(request, "domains/domain_dns.html", context)


@login_required
@require_POST
def domain_verify(request, pk):
    domain = get_domain_for(request.user, pk, write=True)
    try:
        result = services.domain_verify_now(domain=domain)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("domains:list")
    if result == CheckResult.FOUND:
        messages.success(
            request,
            _("%(name)s is verified: its accounts are going live now.")
            % {"name": domain.display_name},
        )
    else:
        messages.error(request, VERIFY_MESSAGES[result])
    return redirect("domains:dns", pk=domain.pk)


@login_required
@require_POST
def domain_dns_check(request, pk):
    domain = get_domain_for(request.user, pk, write=True)
    services.dns_check_request(domain=domain)
    messages.success(request, _("Checking the DNS records: the results appear below."))
    return redirect("domains:dns", pk=domain.pk)


@login_required
@require_POST
def dkim_rotate(request, pk):
    domain = get_domain_for(request.user, pk, write=True)
    try:
        key = services.dkim_rotate(domain=domain)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _(
                "New DKIM key %(selector)s: publish its record. The previous key stays "
                "published until you retire it."
            )
            % {"selector": key.selector},
        )
    return redirect("domains:dns", pk=domain.pk)


@login_required
@require_POST
def dkim_retire(request, pk):
    domain = get_domain_for(request.user, pk, write=True)
    selector = request.POST.get("selector", "")
    try:
        services.dkim_retire(domain=domain, selector=selector)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _("DKIM key %(selector)s retired: you may remove its DNS record.")
            % {"selector": selector[:63]},
        )
    return redirect("domains:dns", pk=domain.pk)


# --- mail clients configure themselves (no sign-in: the answer depends on the domain only) --

XML = "application/xml; charset=utf-8"


@never_cache
@require_GET
def autoconfig_thunderbird(request):
    """Thunderbird: /.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=… on the domain
    or /mail/config-v1.1.xml on autoconfig.<domain>."""
    value = request.GET.get("emailaddress", "") or request.META.get(META_KEY, "")
    domain = autoconfig.hosted_domain(value)
    if domain is None:
        return HttpResponseNotFound("unknown domain", content_type="text/plain")
    return HttpResponse(autoconfig.thunderbird_xml(domain), content_type=XML)


@csrf_exempt  # mail clients post without a session; the answer changes nothing
@never_cache
@require_POST
def autodiscover(request):
    """Outlook's POX Autodiscover: POST /autodiscover/autodiscover.xml."""
    try:
        body = request.body
    except RawPostDataException:  # a form post, already parsed: not an Autodiscover request
        body = b""
    address = autoconfig.client_address(autoconfig.autodiscover_address(body))
    if not address:
        return HttpResponseBadRequest("expected an Autodiscover request", content_type="text/plain")
    if autoconfig.hosted_domain(address) is None:
        return HttpResponseNotFound("unknown domain", content_type="text/plain")
    return HttpResponse(autoconfig.autodiscover_xml(address), content_type=XML)
