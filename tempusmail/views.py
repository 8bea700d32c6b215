"""Project-wide helpers for views."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.shortcuts import redirect
from django.urls import reverse


def add_service_error(form: Form, error: ValidationError) -> None:
    """Show a service's refusal on the form that caused it: next to the field it names when
    the form has that field, above the form otherwise (the services hold the rules)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def org_url(name: str, organization) -> str:
    """A page of the organization menu for one of the user's organizations (`?org=`)."""
    return f"{reverse(name)}?org={organization.pk}"


def home_url(user) -> str:
    """Where a signed-in person lands: mailbox owners in the portal, admins in the panel."""
    if hasattr(user, "mailbox") and not user.memberships.exists():
        return reverse("portal:home")
    return reverse("domains:list")


@login_required
def home(request):
    return redirect(home_url(request.user))
