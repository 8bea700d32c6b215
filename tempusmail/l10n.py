"""Strings Django translates itself, but not well enough for us: Italian keeps "0 bytes" for
the plural of filesizeformat. Named here so that makemessages keeps our translation of them,
and the project's catalog wins over Django's."""

from django.utils.translation import ngettext_lazy

DJANGO_OVERRIDES = (ngettext_lazy("%(size)d byte", "%(size)d bytes", "size"),)
