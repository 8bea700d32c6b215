"""The Celery app: workers push changes to the mail servers, beat runs the reconciler."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tempusmail.settings")

app = Celery("tempusmail")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def worker_command(*, name: str, concurrency: int = 2, loglevel: str = "info") -> list[str]:
    """The command of a real worker process, as the tests and the benchmark start one."""
    import sys

    return [
        *(sys.executable, "-m", "celery", "-A", "tempusmail", "worker", "-l", loglevel),
        *("--concurrency", str(concurrency), "--without-gossip", "--without-mingle"),
        *("-n", f"{name}@%h"),
    ]
