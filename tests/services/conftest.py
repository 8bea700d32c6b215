"""Webmail (Roundcube), DAV (Radicale) and XMPP (Prosody) from deploy/, started once for
tests/services on free loopback ports next to the mail stack of tests/mailstack, and pointed
at the live test server for the panel's settings."""

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from accounts.sync import account_push
from tests.browser.conftest import browser_page  # noqa: F401  (the browser tests' Chromium)
from tests.conftest import ROOT, need
from tests.mailstack.conftest import free_ports, render, run_stack, wait_port

sys.path.insert(0, str(ROOT / "deploy" / "roundcube"))
import tree  # noqa: E402  (deploy/roundcube/tree.py: builds Roundcube's tree)

SERVICES_API_KEY = "test-services-key-" + secrets.token_hex(8)


def _start(cmd, log: Path, **kw) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **kw)


@pytest.fixture(scope="package")
def services_stack(live_server):
    need(bool(shutil.which("php")), "php is missing (apt-get install php-cli)")
    need(Path("/usr/share/roundcube/index.php").exists(), "Roundcube is missing (roundcube-core)")
    need(bool(shutil.which("prosody")), "Prosody is missing (prosody, prosody-modules)")
    saved_key = django_settings.SERVICES_API_KEY
    django_settings.SERVICES_API_KEY = SERVICES_API_KEY  # the live server reads it per request
    with run_stack() as stack:
        base = stack.dir
        names = ["WEBMAIL", "DAV", "XMPP", "XMPP_ADMIN"]
        ports = dict(zip(names, free_ports(len(names)), strict=True))
        keep = {*render.DEFAULTS, "RUN_DIR", "LOG_DIR", "QUEUE_DIR"}
        values = render.render(
            base,
            {
                **{k: v for k, v in stack.values.items() if k in keep},
                **{f"{k}_PORT": str(v) for k, v in ports.items()},
                "PANEL_URL": live_server.url,
                "SERVICES_API_KEY": SERVICES_API_KEY,
            },
            only=("roundcube", "radicale", "prosody"),
        )
        stack.values.update(values)
        stack.env["XMPP_ADMIN_URL"] = f"http://127.0.0.1:{ports['XMPP_ADMIN']}"
        stack.env["XMPP_ADMIN_KEY"] = values["XMPP_ADMIN_KEY"]
        procs = []
        try:
            public = tree.build(
                Path(values["ROUNDCUBE_DIR"]), base / "roundcube" / "config.inc.php"
            )
            procs.append(
                _start(
                    ["php", "-S", f"127.0.0.1:{ports['WEBMAIL']}", "-t", str(public)],
                    base / "log" / "roundcube.log",
                )
            )
            Path(values["DAV_DIR"]).mkdir(parents=True, exist_ok=True)
            procs.append(
                _start(
                    [
                        sys.executable,
                        "-m",
                        "radicale",
                        "--config",
                        str(base / "radicale" / "config"),
                    ],
                    base / "log" / "radicale.log",
                    env={**os.environ, "PYTHONPATH": str(ROOT / "deploy" / "radicale")},
                )
            )
            data = Path(values["XMPP_DATA_DIR"])
            (data / "data").mkdir(parents=True, exist_ok=True)
            prosody = pwd.getpwnam("prosody")
            for path in (data, data / "data"):
                os.chown(path, prosody.pw_uid, prosody.pw_gid)
            procs.append(
                _start(
                    [
                        *("setpriv", "--reuid=prosody", "--regid=prosody", "--init-groups"),
                        *("prosody", "-F", "--config", str(base / "prosody" / "prosody.cfg.lua")),
                    ],
                    base / "log" / "prosody.log",
                )
            )
            for port in ports.values():
                wait_port(port)
            yield stack
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
            django_settings.SERVICES_API_KEY = saved_key


@pytest.fixture
def services(services_stack, settings, transactional_db):
    """The running services, this process's settings pointed at their mail directory, which
    starts empty like the test database."""
    from tempusmail.mailbackend.dovecot import DovecotBackend

    for key, value in services_stack.env.items():
        setattr(settings, key, value)
    settings.SERVICES_API_KEY = SERVICES_API_KEY
    with DovecotBackend().connect() as db, db.transaction():
        for table in ("forward", "alias", "mailbox", "domain"):
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - constant names
    return services_stack


def push(*accounts) -> None:
    """What the worker does after a change: push the account's full state to the directory."""
    for account in accounts:
        account_push(account_id=account.pk)


def port(stack, name: str) -> int:
    return int(stack.values[f"{name}_PORT"])


def log(stack, name: str) -> str:
    path = stack.dir / "log" / f"{name}.log"
    return path.read_text() if path.exists() else ""
