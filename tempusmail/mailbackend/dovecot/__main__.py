"""python -m tempusmail.mailbackend.dovecot init: create the mail directory's tables."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tempusmail.settings")
django.setup()

from django.conf import settings  # noqa: E402

from .backend import DovecotBackend  # noqa: E402

if sys.argv[1:] != ["init"]:
    raise SystemExit("usage: python -m tempusmail.mailbackend.dovecot init")
DovecotBackend().init_directory()
print(f"mail directory ready: {settings.MAIL_DIRECTORY_URL}")
