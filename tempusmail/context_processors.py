"""What base.html needs on every page."""

from functools import cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import SimpleLazyObject

# The navigation's links, by the name base.html uses: the same on every page.
NAV_URLS = {
    "home": "home",
    "domains": "domains:list",
    "my_account": "portal:home",
    "admin": "admin:index",
    "organization": "organization:home",
    "audit": "security:audit",
    "email_services": "portal:email_services",
    "two_factor": "security:2fa",
    "profile": "security:profile",
    "logout": "logout",
}


@cache
def _nav_urls(script_prefix: str, urlconf: str) -> dict[str, str]:
    """Reversed once a process (for each script prefix and URLconf, which reverse() uses),
    not ten times a page (~0.2 ms: docs/benchmarks.md)."""
    return {key: reverse(name, urlconf=urlconf) for key, name in NAV_URLS.items()}


def navigation(request) -> dict:
    """`nav`: the navigation's URLs. `is_member`: whether the signed-in user belongs to an
    organization (the admin navigation), asked of the database only if a page shows it and
    its view did not already know (a view that found the user's role passes
    `is_member=True`: one query less)."""
    user = getattr(request, "user", None)
    return {
        "nav": _nav_urls(get_script_prefix(), get_urlconf(settings.ROOT_URLCONF)),
        "is_member": SimpleLazyObject(
            lambda: bool(user is not None and user.is_authenticated and user.memberships.exists())
        ),
    }
