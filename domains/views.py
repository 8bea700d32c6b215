from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tempusmail.views import add_service_error

from . import services
from .access import domains_for, get_domain_for, organizations_for, role_flags
from .forms import DomainCreateForm, DomainSettingsForm
from .models import Domain


@login_required
def domain_list(request):
    q = request.GET.get("q", "").strip()[:100]
    domains = domains_for(request.user).select_related("organization")
    if q:
        domains = domains.filter(name__icontains=q)
    page = Paginator(domains.order_by("name", "pk"), 50).get_page(request.GET.get("page"))
    # Totals for this page's domains only, in one grouped query: joining every account of
    # every domain before paginating cost 170 ms at 100,000 mailboxes (docs/benchmarks.md).
    totals = {
        row["pk"]: row
        for row in Domain.objects.filter(pk__in=[d.pk for d in page])
        .values("pk")
        .annotate(n=Count("accounts"), used=Sum("accounts__storage_used_bytes"))
    }
    for domain in page:
        row = totals.get(domain.pk, {})
        domain.accounts_count, domain.storage_used = row.get("n", 0), row.get("used") or 0
    can_add = organizations_for(request.user, write=True).exists()
    return render(request, "domains/domain_list.html", {"page": page, "q": q, "can_add": can_add})


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
                request, _("Domain %(name)s activated.") % {"name": domain.display_name}
            )
            return redirect("accounts:list", domain_pk=domain.pk)
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
        {"domain": domain, "form": form, "tab": "settings", **role_flags(domain.member_role)},
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
    return render(request, "domains/domain_delete.html", {"domain": domain})
