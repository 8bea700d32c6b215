"""Shared fixtures: organization A (owner, operator, viewer) and organization B (its admin)."""

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password

from accounts import services as account_services
from accounts.models import User
from domains import services as domain_services
from domains.models import Domain, Membership, Organization, Plan, Role
from tempusmail.celery import worker_command
from tempusmail.mailbackend import get_backend
from tempusmail.mailbackend.base import SERVICES
from tempusmail.provisioning import mark_applied

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "Correct-Horse-Battery-9"


def pytest_configure(config):
    """Compile the translation catalogs before any test: Django caches a language's catalog
    the first time it is used, so compiling in the middle of a run came too late."""
    if shutil.which("msgfmt") is None:
        return
    for po in (ROOT / "locale").glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True)


def need(condition: bool, reason: str) -> None:
    """Skip locally when a service is missing; never in CI, where it must be there."""
    if not condition:
        if CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def password_hash() -> str:
    return make_password(PASSWORD)


@pytest.fixture
def plan(db):
    return Plan.objects.create(
        name="Test plan",
        max_domains=3,
        max_accounts=5,
        storage_options_mb=[1024, 5120, 10240],
        services=list(SERVICES),
        default_daily_send_limit=500,
        max_daily_send_limit=1000,
    )


def _user(email: str, **extra) -> User:
    return User.objects.create_user(email, PASSWORD, **extra)


@pytest.fixture
def org_a(plan):
    return Organization.objects.create(name="Org A", plan=plan)


@pytest.fixture
def org_b(plan):
    return Organization.objects.create(name="Org B", plan=plan)


def _member(org, email, role):
    user = _user(email)
    Membership.objects.create(user=user, organization=org, role=role)
    return user


@pytest.fixture
def owner(org_a):
    return _member(org_a, "owner@a.test", Role.OWNER)


@pytest.fixture
def operator(org_a):
    return _member(org_a, "operator@a.test", Role.OPERATOR)


@pytest.fixture
def viewer(org_a):
    return _member(org_a, "viewer@a.test", Role.VIEWER)


@pytest.fixture
def admin_b(org_b):
    return _member(org_b, "admin@b.test", Role.OWNER)


def make_domain(org, name: str, *, verified: bool = True):
    """A domain as a tenant adds it; verified (as staff would mark it) unless asked not to:
    only a verified domain reaches the mail system."""
    domain = domain_services.domain_create(organization=org, name=name)
    if verified:
        domain_services.domain_mark_verified(domain=domain, by_staff=True)
    return domain


@pytest.fixture
def domain_a(org_a):
    return make_domain(org_a, "a.example")


@pytest.fixture
def small_quotas(domain_a):
    """domain_a offering 1 MB, 5 MB and 1 GB mailboxes (quota tests fill one quickly)."""
    Domain.objects.filter(pk=domain_a.pk).update(storage_options_mb=[1, 5, 1024])
    domain_a.refresh_from_db()
    return domain_a


@pytest.fixture
def domain_b(org_b):
    return make_domain(org_b, "b.example")


@pytest.fixture(scope="session")
def _dkim_key_pool():
    """A few real RSA 2048 keys made once: every domain a test adds gets a DKIM key, and
    making one costs 20-200 ms. Tests about keys themselves use `fresh_dkim_keys`."""
    from domains import dkim

    return [dkim.new_private_key_pem() for _ in range(3)]


@pytest.fixture(autouse=True)
def _pooled_dkim_keys(request, monkeypatch, _dkim_key_pool):
    if "fresh_dkim_keys" in request.fixturenames:
        return
    from domains import dkim

    keys = iter(_dkim_key_pool * 1000)
    monkeypatch.setattr(dkim, "new_private_key_pem", lambda: next(keys))


@pytest.fixture
def fresh_dkim_keys():
    """A new RSA key for every domain and rotation (as in production)."""
    return True


@pytest.fixture
def make_account(password_hash):
    def make(domain, local_part="alice", **options):
        return account_services.account_create(
            domain=domain,
            local_part=local_part,
            first_name=local_part.title(),
            last_name="Test",
            password_hash=password_hash,
            options=options,
        )

    return make


@pytest.fixture
def account_a(domain_a, make_account):
    return make_account(domain_a, "alice")


@pytest.fixture
def account_b(domain_b, make_account):
    return make_account(domain_b, "bob")


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def staff_client(client, db):
    """The test client signed in as a support superuser (the Django admin's audience)."""
    client.force_login(User.objects.create_superuser("support@provider.test", PASSWORD))
    return client


@pytest.fixture
def reload():
    """reload(obj): a fresh instance of obj as the database holds it now."""

    def reload(obj):
        return type(obj).objects.get(pk=obj.pk)

    return reload


@pytest.fixture
def applied():
    """applied(obj): record obj's desired version as pushed, as the worker does after a
    successful push; obj is refreshed in place and returned."""

    def applied(obj):
        obj.refresh_from_db()
        mark_applied(type(obj), pk=obj.pk, version=obj.desired_version)
        obj.refresh_from_db()
        return obj

    return applied


@pytest.fixture
def memory_backend(settings):
    settings.MAIL_BACKEND = "memory"
    backend = get_backend()
    backend.reset()
    yield backend
    backend.reset()


@pytest.fixture
def chromium(settings, monkeypatch):
    """Debian's headless Chromium driven by Playwright for Python (never a downloaded
    browser), for a live server that speaks plain HTTP. Playwright's sync API runs an event
    loop in this thread; the test's own ORM calls are plain synchronous calls made while the
    browser waits."""
    need(os.path.exists(CHROMIUM), f"{CHROMIUM} is not installed (apt-get install chromium)")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()
            # ORM calls made while Playwright's loop runs get their own connection: close it,
            # or the test database cannot be dropped at the end of the session.
            connections.close_all()


def _worker_env(extra: dict | None = None) -> dict:
    from django.db import connection

    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    env.update(extra or {})
    return env


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Start real Celery worker processes on the test database; stop them after the test."""
    procs: list[subprocess.Popen] = []

    def start(*, concurrency: int = 2, env: dict | None = None, beat: bool = False):
        log = open(tmp_path / f"worker-{len(procs)}.log", "w")  # noqa: SIM115
        cmd = worker_command(name=f"test{len(procs)}-{os.getpid()}", concurrency=concurrency)
        if beat:
            cmd += ["-B", "-s", str(tmp_path / "beat-schedule")]
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=_worker_env(env), stdout=log, stderr=subprocess.STDOUT
        )
        proc.log_path = tmp_path / f"worker-{len(procs)}.log"
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.1, what: str = ""):
    """Poll until predicate() is truthy; fail with a clear message after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}")


@pytest.fixture(autouse=True)
def _purge_queue_between_tests():
    """Messages a test enqueued must not reach the next test's worker."""
    yield
    from tempusmail.celery import app

    with contextlib.suppress(Exception):  # no broker: nothing queued either
        app.control.purge()


TEST_ZONES = ["a.example", "b.example", "c.example", "race.example", "health.example"]


@pytest.fixture
def dns_server(settings):
    """Knot, authoritative for TEST_ZONES on a free loopback port; the panel's checks ask it."""
    need(bool(shutil.which("knotd")), "Knot (knotd) missing: apt-get install knot")
    from tests.dnsserver import running_knot

    with running_knot(TEST_ZONES) as server:
        settings.DNS_RESOLVERS = ["127.0.0.1"]
        settings.DNS_PORT = server.port
        settings.DNS_TIMEOUT = 1.0
        yield server


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """Run what a block enqueues after commit, inline (Celery eager), as a worker would:
    `with run_tasks(): ...`."""
    from tempusmail.celery import app

    @contextlib.contextmanager
    def block():
        saved = app.conf.task_always_eager, app.conf.task_eager_propagates
        app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
        try:
            with django_capture_on_commit_callbacks(execute=True):
                yield
        finally:
            app.conf.task_always_eager, app.conf.task_eager_propagates = saved

    return block
