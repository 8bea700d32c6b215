"""Tenancy helpers shared by every app's access.py."""

from django.core.exceptions import PermissionDenied
from django.http import Http404


def not_found() -> Http404:
    """Another tenant's object looks exactly like one that does not exist."""
    return Http404("Not found")


def forbid(reason: str = "You are not authorized to perform this operation.") -> PermissionDenied:
    return PermissionDenied(reason)
