"""Organization pages: credit and statement (owners), members and invitations, and the payment
provider's webhook. The organization is chosen with `?org=` among the user's own."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tempusmail.views import add_service_error, org_url

from . import billing, members
from .access import choose_organization_for, get_invitation_for, get_membership_for, role_flags
from .models import Invitation, Role
from .org_forms import InviteForm, RoleForm, TwoFactorRuleForm


def _wanted(request):
    return request.GET.get("org") or request.POST.get("org")


@login_required
def organization_home(request):
    """The Organization menu lands on the overview (accounts.views.organization_dashboard)."""
    organization, _all = choose_organization_for(request.user, _wanted(request))
    return redirect(org_url("accounts:dashboard", organization))


# --- credit --------------------------------------------------------------------------------


@login_required
@require_GET
def credit(request):
    """Balance and statement, newest first, 50 lines a page (owners)."""
    organization, organizations = choose_organization_for(
        request.user, _wanted(request), manage=True
    )
    entries = organization.credit_entries.order_by("-created_at", "-pk")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "domains/credit.html",
        {
            "organization": organization,
            "organizations": organizations,
            "balance": billing.format_eur(organization.credit),
            "page": page,
            "tab": "credit",
            "zone": billing.zone(organization),
            **role_flags(organization.member_role),
        },
    )


@never_cache
@login_required
@require_GET
def credit_csv(request):
    """The whole statement as CSV, oldest first (read in chunks of 2,000 rows)."""
    organization, _all = choose_organization_for(request.user, _wanted(request), manage=True)
    entries = organization.credit_entries.order_by("created_at", "pk").iterator(chunk_size=2000)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    csv.writer(response).writerows(billing.statement_rows(organization, entries))
    response["Content-Disposition"] = f'attachment; filename="statement-{organization.pk}.csv"'
    return response


@csrf_exempt
@require_POST
def payment_webhook(request):
    """A payment provider tops up an organization: HMAC-signed, idempotent per payment id
    (docs/billing.md). Answers JSON; nothing changes unless it is 200 with "recorded"."""
    if request.content_type != "application/json":  # a form body is parsed, not signed bytes
        return JsonResponse({"error": "Send the payment as application/json."}, status=415)
    try:
        entry, created = billing.record_payment(
            body=request.body, signature=request.headers.get("X-TempusMail-Signature", "")
        )
    except billing.WebhookRefused as refused:
        return JsonResponse({"error": str(refused)}, status=refused.status)
    return JsonResponse(
        {
            "status": "recorded" if created else "duplicate",
            "organization": entry.organization_id,
            "balance": f"{entry.balance_after:.2f}" if created else None,
        }
    )


# --- members -------------------------------------------------------------------------------


def _members_page(request, organization, organizations, *, invite_form=None, link=None, status=200):
    memberships = organization.memberships.select_related("user").order_by("user__email")
    page = Paginator(memberships, 100).get_page(request.GET.get("page"))
    flags = role_flags(organization.member_role)
    invitations = []
    if flags["can_manage"]:
        invitations = [
            i
            for i in organization.invitations.filter(accepted_at=None, revoked_at=None)
            if i.is_open
        ]
    return render(
        request,
        "domains/members.html",
        {
            "organization": organization,
            "organizations": organizations,
            "page": page,
            "invitations": invitations,
            "invite_form": invite_form or InviteForm(),
            "rule_form": TwoFactorRuleForm(
                initial={"members_require_2fa": organization.members_require_2fa}
            ),
            "roles": Role.choices,
            "link": link,
            "tab": "members",
            **flags,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def members_list(request):
    """Everybody sees the members; owners invite (POST)."""
    organization, organizations = choose_organization_for(
        request.user, _wanted(request), manage=request.method == "POST"
    )
    if request.method != "POST":
        return _members_page(request, organization, organizations)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation, token = members.member_invite(
                organization=organization,
                invited_by_email=request.user.email,
                **form.cleaned_data,
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            link = request.build_absolute_uri(reverse("security:invitation", args=[token]))
            try:
                members.send_invitation(invitation=invitation, link=link)
            except Exception:  # noqa: BLE001 - the owner gets the link on the page anyway
                messages.warning(request, _("The invitation email could not be sent."))
            else:
                messages.success(
                    request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
                )
            return _members_page(request, organization, organizations, link=link)
    return _members_page(request, organization, organizations, invite_form=form, status=200)


@login_required
@require_POST
def member_role(request, pk):
    membership = get_membership_for(request.user, pk, manage=True)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            changed = members.member_set_role(membership=membership, role=form.cleaned_data["role"])
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            if changed:
                messages.success(
                    request,
                    _("%(email)s is now %(role)s.")
                    % {"email": membership.user.email, "role": membership.get_role_display()},
                )
            else:
                messages.info(request, _("Nothing changed."))
    else:
        messages.error(request, _("Choose a role."))
    return redirect(org_url("organization:members", membership.organization))


@login_required
@require_POST
def member_remove(request, pk):
    membership = get_membership_for(request.user, pk, manage=True)
    try:
        members.member_remove(membership=membership)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("%(email)s removed.") % {"email": membership.user.email})
        if membership.user_id == request.user.pk:
            return redirect("home")
    return redirect(org_url("organization:members", membership.organization))


@login_required
@require_POST
def invitation_revoke(request, pk):
    invitation: Invitation = get_invitation_for(request.user, pk)
    members.invitation_revoke(invitation=invitation)
    messages.success(request, _("Invitation to %(email)s revoked.") % {"email": invitation.email})
    return redirect(org_url("organization:members", invitation.organization))


@login_required
@require_POST
def members_2fa(request):
    organization, _all = choose_organization_for(request.user, _wanted(request), manage=True)
    form = TwoFactorRuleForm(request.POST)
    if form.is_valid():
        changed = members.members_require_2fa_update(
            organization=organization, required=form.cleaned_data["members_require_2fa"]
        )
        messages.success(request, _("Settings saved.") if changed else _("Nothing changed."))
    return redirect(org_url("organization:members", organization))
