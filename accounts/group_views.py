"""Groups pages: every member of the organization sees them; owners create, change, delete."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from domains.access import choose_organization_for, role_flags
from tempusmail.tenancy import not_found
from tempusmail.views import add_service_error, org_url

from . import forms, groups
from .access import get_group_for


@login_required
@require_http_methods(["GET", "POST"])
def group_list(request):
    wanted = request.GET.get("org") or request.POST.get("org")
    organization, organizations = choose_organization_for(
        request.user, wanted, manage=request.method == "POST"
    )
    form = forms.GroupCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = groups.group_create(organization=organization, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Group %(address)s created.") % {"address": group.address})
            return redirect("accounts:group", pk=group.pk)
    rows = (
        organization.groups.select_related("domain")
        .annotate(n_members=Count("members"))
        .order_by("address")
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/group_list.html",
        {
            "organization": organization,
            "organizations": organizations,
            "page": page,
            "form": form,
            **role_flags(organization.member_role),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def group_detail(request, pk):
    group = get_group_for(request.user, pk, manage=request.method == "POST")
    form = forms.GroupRenameForm(request.POST or None, initial={"name": group.name})
    if request.method == "POST" and form.is_valid():
        try:
            changed = groups.group_rename(group=group, name=form.cleaned_data["name"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Group saved.") if changed else _("Nothing changed."))
            return redirect("accounts:group", pk=pk)
    return _detail(request, group, form=form)


def _detail(request, group, *, form=None, member_form=None, status=200):
    members = group.members.select_related("domain").order_by("address")
    page = Paginator(members, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/group_detail.html",
        {
            "group": group,
            "page": page,
            "form": form or forms.GroupRenameForm(initial={"name": group.name}),
            "member_form": member_form or forms.GroupMemberForm(),
            "list_url": org_url("accounts:groups", group.organization),
            **role_flags(group.member_role),
        },
        status=status,
    )


@login_required
@require_POST
def group_member_add(request, pk):
    group = get_group_for(request.user, pk, manage=True)
    form = forms.GroupMemberForm(request.POST)
    if form.is_valid():
        try:
            added = groups.group_add_members(group=group, addresses=[form.cleaned_data["address"]])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            if added:
                messages.success(request, _("Member added."))
            else:
                messages.info(request, _("Already a member."))
            return redirect("accounts:group", pk=pk)
    return _detail(request, group, member_form=form)


@login_required
@require_POST
def group_member_remove(request, pk, account_pk):
    group = get_group_for(request.user, pk, manage=True)
    account = group.members.filter(pk=account_pk).first()
    if account is None:
        raise not_found()
    groups.group_remove_member(group=group, account=account)
    messages.success(request, _("%(address)s removed from the group.") % {"address": account})
    return redirect("accounts:group", pk=pk)


@login_required
@require_POST
def group_delete(request, pk):
    group = get_group_for(request.user, pk, manage=True)
    organization = group.organization
    groups.group_delete(group=group)
    messages.success(request, _("Group %(address)s deleted.") % {"address": group.address})
    return redirect(org_url("accounts:groups", organization))
