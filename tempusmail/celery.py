"""The Celery app: workers push changes to the mail servers, beat runs the reconciler."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tempusmail.settings")

app = Celery("tempusmail")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
