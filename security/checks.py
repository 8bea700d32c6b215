"""Deployment checks Django's own --deploy checks do not know about."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register("security", deploy=True)
def production_settings(app_configs, **kwargs):
    problems = []
    if settings.SECRET_KEY.startswith("dev-insecure-"):
        problems.append(
            Error(
                "DJANGO_SECRET_KEY is not set: the development key is in use.",
                hint="Set DJANGO_SECRET_KEY to a long random value (README, configuration).",
                id="tempusmail.E001",
            )
        )
    if not settings.STAFF_REQUIRE_2FA:
        problems.append(
            Warning(
                "Staff can sign in without two-factor authentication.",
                hint="Unset STAFF_REQUIRE_2FA (it defaults to on when DEBUG is off).",
                id="tempusmail.W002",
            )
        )
    return problems
