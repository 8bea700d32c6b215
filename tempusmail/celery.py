"""The Celery app: workers push changes to the mail servers, beat runs the reconciler."""

import os
import sys
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tempusmail.settings")

app = Celery("tempusmail")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

if app.conf.broker_url.startswith("filesystem"):
    # kombu's filesystem transport expects its folders; the panel publishes, workers consume.
    for _folder in ("data_folder_in", "processed_folder"):
        Path(app.conf.broker_transport_options[_folder]).mkdir(parents=True, exist_ok=True)


def worker_command(*, name: str, concurrency: int = 2, loglevel: str = "info") -> list[str]:
    """The command of a real worker process, as the tests and the benchmark start one."""
    return [
        *(sys.executable, "-m", "celery", "-A", "tempusmail", "worker", "-l", loglevel),
        *("--concurrency", str(concurrency), "--without-gossip", "--without-mingle"),
        *("-n", f"{name}@%h"),
    ]
