"""Loaded with `-p tests.testenv` before Django is set up: choose the test services.

PostgreSQL and Redis are used when reachable (always in CI, where their absence is an error);
otherwise SQLite and kombu's filesystem broker.
"""

import os
import socket
import tempfile


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


CI = os.environ.get("CI", "").lower() == "true"

if "DATABASE_URL" not in os.environ and (CI or _reachable("127.0.0.1", 5432)):
    os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/tempusmail"
if "REDIS_URL" not in os.environ and (CI or _reachable("127.0.0.1", 6379)):
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/14"
if "CELERY_BROKER_URL" not in os.environ:
    if "REDIS_URL" in os.environ:
        os.environ["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/15"
    else:
        os.environ.setdefault("TEMPUSMAIL_VAR_DIR", tempfile.mkdtemp(prefix="tempusmail-test-"))
os.environ.setdefault("MAIL_BACKEND", "memory")
# Not the hosts `make mailstack` wrote into var/: tests that reach mail hosts name them.
for name in ("DOVEADM_HOSTS", "DOVEADM_API_KEY", "XMPP_ADMIN_URL", "XMPP_ADMIN_KEY"):
    os.environ.setdefault(name, "")
# Several test runs may share this machine: each gets its own test database and task queue.
os.environ.setdefault("TEST_DATABASE_NAME", f"test_tempusmail_{os.getpid()}")
os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", f"test-{os.getpid()}")
os.environ.setdefault("CACHE_KEY_PREFIX", f"test{os.getpid()}")
