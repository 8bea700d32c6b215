"""Bulk actions on the account list, CSV import (upload, dry run, import) and CSV export."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from domains.access import get_domain_for, role_flags
from tempusmail.tenancy import forbid
from tempusmail.views import add_service_error

from . import bulk, csvio, forms
from .access import get_job_for
from .models import BulkJob, BulkJobItem

ERRORS_SHOWN = 1000


@login_required
@require_POST
def account_bulk(request, domain_pk):
    # The role the action needs one account at a time: deactivating is for owners.
    manage = request.POST.get("action") in bulk.MANAGE_KINDS
    domain = get_domain_for(request.user, domain_pk, write=True, manage=manage)
    flags = role_flags(domain.member_role)
    form = forms.BulkForm(request.POST, domain=domain, can_manage=flags["can_manage"])
    q = request.POST.get("q", "")[:100]
    back = reverse("accounts:list", args=[domain.pk])
    if form.is_valid():
        data = form.cleaned_data
        try:
            job = bulk.bulk_start(
                user=request.user,
                domain=domain,
                kind=data["action"],
                params={
                    "quota_mb": data.get("quota_mb"),
                    "services": data.get("services"),
                    "daily_send_limit": data.get("daily_send_limit"),
                },
                account_ids=None if data["all"] else data["ids"],
                q=data["q"],
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("%(action)s started.") % {"action": job.get_kind_display()})
            return redirect(
                f"{back}?{urlencode({'q': q, 'job': job.pk} if q else {'job': job.pk})}"
            )
    for error in [*form.non_field_errors(), *(e for f in form for e in f.errors)]:
        messages.error(request, error)
    return redirect(f"{back}?{urlencode({'q': q})}" if q else back)


def _job_context(request, domain, job, **extra):
    return {
        "domain": domain,
        "job": job,
        "tab": "accounts",
        **role_flags(domain.member_role),
        **extra,
    }


@login_required
def job_detail(request, domain_pk, pk):
    """A job's progress and its failures; for an uploaded CSV file, the dry run's preview."""
    domain = get_domain_for(request.user, domain_pk)
    job = get_job_for(request.user, pk, domain=domain)
    failed = (
        BulkJobItem.objects.filter(job=job, state=BulkJobItem.State.FAILED)
        .only("pk", "line", "address", "errors")
        .order_by("pk")
    )
    shown = list(failed[:ERRORS_SHOWN])
    return render(
        request,
        "accounts/job_detail.html",
        _job_context(
            request,
            domain,
            job,
            failures=shown,
            more_failures=job.failed - len(shown) if job.state != job.State.PREVIEW else 0,
            counts={
                "create": 0,
                "update": 0,
                "unchanged": 0,
                "error": 0,
                **job.params.get("counts", {}),
            },
        ),
    )


@login_required
def job_progress(request, domain_pk, pk):
    """The live progress panel the list and the job page poll (htmx) until the job is done;
    the poll that sees it done reloads the page, whose rows then show their new status."""
    domain = get_domain_for(request.user, domain_pk)
    job = get_job_for(request.user, pk, domain=domain)
    response = render(
        request,
        "accounts/_job_progress.html",
        _job_context(request, domain, job, failures=bulk.failures(job, limit=20)),
    )
    if job.finished and request.GET.get("live"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_import(request, domain_pk):
    domain = get_domain_for(request.user, domain_pk, write=request.method == "POST")
    form = forms.ImportForm()
    file_errors = []
    if request.method == "POST":
        # Refused before Django reads a body far larger than any accepted file.
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.ACCOUNT_IMPORT_MAX_BYTES + 64 * 1024:
            file_errors = [
                {
                    "line": 0,
                    "column": "",
                    "message": _("The file is larger than %(mb)s MB.")
                    % {"mb": round(settings.ACCOUNT_IMPORT_MAX_BYTES / 1024 / 1024, 1)},
                }
            ]
        else:
            form = forms.ImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                data = upload.read(settings.ACCOUNT_IMPORT_MAX_BYTES + 1)
                job, parsed = csvio.preview(
                    user=request.user, domain=domain, data=data, file_name=upload.name
                )
                if not parsed.errors:
                    return redirect("accounts:job", domain_pk=domain.pk, pk=job.pk)
                file_errors = parsed.errors
    return render(
        request,
        "accounts/account_import.html",
        {
            "domain": domain,
            "form": form,
            "file_errors": file_errors,
            "columns": csvio.COLUMNS,
            "tab": "accounts",
            "max_mb": round(settings.ACCOUNT_IMPORT_MAX_BYTES / 1024 / 1024, 1),
            "max_rows": settings.ACCOUNT_IMPORT_MAX_ROWS,
            **role_flags(domain.member_role),
        },
        status=400 if file_errors or form.errors else 200,
    )


@login_required
@require_POST
def import_start(request, domain_pk, pk):
    domain = get_domain_for(request.user, domain_pk, write=True)
    job = get_job_for(request.user, pk, domain=domain)
    if job.created_by_id != request.user.pk:
        # The rows were checked for, and run with the rights of, the person who uploaded them.
        raise forbid(_("Only the person who uploaded this file can import it."))
    if job.state == BulkJob.State.PREVIEW:
        csvio.import_start(job=job)
        bulk.enqueue(job)
        messages.success(request, _("Import started."))
    back = reverse("accounts:list", args=[domain.pk])
    return redirect(f"{back}?{urlencode({'job': job.pk})}")


def _csv_response(rows, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def account_export(request, domain_pk):
    domain = get_domain_for(request.user, domain_pk)
    return _csv_response(csvio.export_accounts(domain), f"accounts-{domain.name}.csv")


@login_required
def alias_export(request, domain_pk):
    domain = get_domain_for(request.user, domain_pk)
    return _csv_response(csvio.export_aliases(domain), f"aliases-{domain.name}.csv")
