"""What base.html needs on every page."""

from django.utils.functional import SimpleLazyObject


def navigation(request) -> dict:
    """`is_member`: whether the signed-in user belongs to an organization (the admin
    navigation), asked of the database only if a page shows it and its view did not already
    know (a view that found the user's role passes `is_member=True`: one query less)."""
    user = getattr(request, "user", None)
    return {
        "is_member": SimpleLazyObject(
            lambda: bool(user is not None and user.is_authenticated and user.memberships.exists())
        )
    }
