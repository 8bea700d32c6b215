"""`make bench`: list pages at 10,000 and 100,000 mailboxes, provisioning throughput, and
the import throughput of external mailboxes.

    python -m scripts.bench                      # every part, default sizes
    python -m scripts.bench --lists --sizes 10000
    python -m scripts.bench --provisioning --accounts 1000 --backend memory
    python -m scripts.bench --imports --messages 1000 --message-kb 20
    python -m scripts.bench --bulk --import-csv --batch-accounts 10000 --backend dovecot

Runs against its own PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/tempusmail_bench), created and migrated here; it refuses
a database whose name does not contain "bench", so the dev and test databases are safe.
Seeding is incremental: a second run reuses the mailboxes already there (--fresh drops them).

Lists: one owner, 100 domains, the mailboxes in one domain; each page is requested through
Django's test Client (the whole request: middleware, view, template, no network), once
while counting SQL queries, then --requests times for the median and 95th percentile.

Provisioning: --accounts mailboxes created through accounts.services.account_create (one
precomputed password hash: hashing is the request's cost, not the pipeline's) while a real
Celery worker (a subprocess on a Redis broker) pushes them to MAIL_BACKEND; a poller records
when each row is applied, i.e. Online.

Bulk change (--bulk): --batch-accounts mailboxes seeded in a fresh verified domain and pushed
to MAIL_BACKEND (not timed), then a real bulk job "change storage" on all of them (accounts.bulk:
run by a real Celery worker in chunks, one push_accounts task per chunk): the time from the
job's start until every account holds the new storage and is Online.

CSV import (--import-csv): a file of --batch-accounts rows with argon2id hashes given, through
csvio.preview (the dry run, timed on its own), then the import job run by the worker, until
every account is Online; then the preview of the same file again (every row unchanged).

Imports: the tests' two real Dovecots (tests/imports: a provider with TLS and a test CA;
tests/mailstack: our stack from deploy/), --messages messages of about --message-kb KB in five
folders at the provider, then webmail_settings.importer.sync (the Celery task's body) run here,
--import-runs times with a fresh mailbox each: messages/s and MB/s of the whole job (TLS login,
folder listing, plan, fetch, append through Dovecot, progress writes), then a re-sync of 10 new
messages. Needs root, Dovecot and dovecot-submissiond, like the tests.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/tempusmail_bench"
DEFAULT_BROKER = "redis://127.0.0.1:6379/13"
PASSWORD = "Bench-Password-123"
BIG_DOMAIN = "big.bench.example"
OWNER = "owner@bench.example"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__)
    parser.add_argument("--lists", action="store_true", help="measure the list pages")
    parser.add_argument("--provisioning", action="store_true", help="measure provisioning")
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="mailbox counts in the big domain, comma-separated (default 10000,100000)",
    )
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--accounts", type=int, default=1000, help="accounts to provision")
    parser.add_argument(
        "--rate", type=float, default=0, help="accounts created per second (0: as fast as can)"
    )
    parser.add_argument("--backend", default=None, help="MAIL_BACKEND (default: memory)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--drain",
        action="store_true",
        help="queue all accounts first, then start the worker: its throughput alone",
    )
    parser.add_argument(
        "--creators", type=int, default=2, help="threads calling account_create, as web workers"
    )
    parser.add_argument("--imports", action="store_true", help="measure mailbox imports")
    parser.add_argument("--bulk", action="store_true", help="measure a bulk storage change")
    parser.add_argument("--import-csv", action="store_true", help="measure a CSV import")
    parser.add_argument(
        "--batch-accounts", type=int, default=10_000, help="accounts of --bulk and --import-csv"
    )
    parser.add_argument("--messages", type=int, default=1000, help="messages to import")
    parser.add_argument("--message-kb", type=int, default=20, help="size of each message (KB)")
    parser.add_argument("--import-runs", type=int, default=3, help="imports measured")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--broker-url", default=os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER))
    parser.add_argument("--fresh", action="store_true", help="drop the bench database first")
    args = parser.parse_args()
    if not (args.lists or args.provisioning or args.imports or args.bulk or args.import_csv):
        args.lists = args.provisioning = args.imports = args.bulk = args.import_csv = True
    args.sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    args.backend = args.backend or os.environ.get("MAIL_BACKEND", "memory")
    return args


def prepare_database(url: str, *, fresh: bool) -> None:
    """Create the bench database if it is missing; never touch another one."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if parsed.scheme not in ("postgres", "postgresql") or "bench" not in name:
        sys.exit(f"refusing {url}: use a PostgreSQL database whose name contains 'bench'")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["CELERY_BROKER_URL"] = args.broker_url
    os.environ["MAIL_BACKEND"] = args.backend
    os.environ["DJANGO_DEBUG"] = "0"  # production-like: no debug toolbar, cached templates
    if args.backend == "dovecot":
        # Its own mail directory and counters; Dovecot need not run (new mailboxes have no
        # auth cache to flush), so the push measured is the directory, Sieve and Redis work.
        mail_root = ROOT / "var" / "bench-mail"
        os.environ.setdefault("MAIL_ROOT", str(mail_root))
        os.environ.setdefault("MAIL_DIRECTORY_URL", f"sqlite:///{mail_root}/directory.db")
        os.environ.setdefault("DOVECOT_CONFIG", str(mail_root / "no-dovecot.conf"))
        os.environ.setdefault("POLICY_REDIS_URL", "redis://127.0.0.1:6379/12")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tempusmail.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.backend == "dovecot":
        from tempusmail.mailbackend import get_backend

        Path(os.environ["MAIL_ROOT"]).mkdir(parents=True, exist_ok=True)
        get_backend().init_directory()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


# --- seeding ------------------------------------------------------------------------------


def seed_tenant():
    """The bench organization, its owner and 100 domains (the first one holds the mailboxes)."""
    from accounts.models import User
    from domains.models import Domain, Membership, Organization, Plan, Role
    from tempusmail.mailbackend.base import SERVICES

    plan, _ = Plan.objects.get_or_create(
        name="Bench plan",
        defaults={
            "max_domains": 10_000,
            "max_accounts": 10_000_000,
            "storage_options_mb": [1024, 5120, 10240],
            "services": list(SERVICES),
            "default_daily_send_limit": 500,
            "max_daily_send_limit": 2000,
        },
    )
    org, _ = Organization.objects.get_or_create(name="Bench organization", plan=plan)
    owner = User.objects.filter(email=OWNER).first() or User.objects.create_user(OWNER, PASSWORD)
    Membership.objects.get_or_create(user=owner, organization=org, role=Role.OWNER)
    names = [BIG_DOMAIN] + [f"d{n:03d}.bench.example" for n in range(1, 100)]
    have = set(Domain.objects.filter(name__in=names).values_list("name", flat=True))
    Domain.objects.bulk_create(
        Domain(
            organization=org,
            name=name,
            services=list(SERVICES),
            storage_options_mb=[1024, 5120, 10240],
            applied_version=1,
        )
        for name in names
        if name not in have
    )
    return org, owner, Domain.objects.get(name=BIG_DOMAIN)


def vacuum() -> None:
    """What autovacuum does on a live database (it is off on this machine's PostgreSQL):
    statistics, the visibility map, and the trigram indexes' pending lists, which the
    --bulk and --import-csv runs fill (a later run's searches were 2-3x slower without)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE accounts_emailaccount")
        cursor.execute("VACUUM ANALYZE accounts_user")


def seed_mailboxes(org, domain, target: int, password_hash: str) -> None:
    """Grow the big domain to `target` mailboxes with bulk inserts (one shared hash)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import EmailAccount, User
    from tempusmail.mailbackend.base import SERVICES

    have = EmailAccount.objects.filter(domain=domain).count()
    if have > target:  # a previous run seeded more: drop the newest seeded ones
        print(f"  shrinking {have} → {target} mailboxes…", flush=True)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM accounts_emailaccount WHERE domain_id = %s AND local_part >= %s "
                "RETURNING user_id",
                [domain.pk, f"user{target:06d}"],
            )
            user_ids = [row[0] for row in cursor.fetchall()]
            cursor.execute("DELETE FROM accounts_user WHERE id = ANY(%s)", [user_ids])
        have = EmailAccount.objects.filter(domain=domain).count()
    if have >= target:
        return
    print(f"  seeding {target - have} mailboxes ({have} → {target})…", flush=True)
    rng = random.Random(have)  # noqa: S311 - sample data, not secrets
    now = timezone.now()
    first_names = ["Anna", "Marco", "Giulia", "Luca", "Sara", "Paolo", "Elena", "Davide"]
    last_names = ["Rossi", "Bianchi", "Ferrari", "Esposito", "Romano", "Colombo", "Ricci"]
    started = time.perf_counter()
    batch = 5000
    for start in range(have, target, batch):
        stop = min(target, start + batch)
        locals_ = [f"user{n:06d}" for n in range(start, stop)]
        with transaction.atomic():
            users = User.objects.bulk_create(
                User(
                    email=f"{local}@{domain.name}",
                    password=password_hash,
                    first_name=rng.choice(first_names),
                    last_name=rng.choice(last_names),
                )
                for local in locals_
            )
            EmailAccount.objects.bulk_create(
                EmailAccount(
                    organization=org,
                    domain=domain,
                    user=user,
                    local_part=local,
                    address=user.email,
                    first_name=user.first_name,
                    last_name=user.last_name,
                    quota_mb=rng.choice([1024, 5120, 10240]),
                    daily_send_limit=500,
                    services=list(SERVICES),
                    applied_version=1,
                    storage_used_bytes=rng.randrange(0, 5 * 1024**3),
                    last_login_at=now - timedelta(minutes=rng.randrange(0, 90 * 1440))
                    if rng.random() < 0.9
                    else None,
                    sent_24h=rng.randrange(0, 200),
                    is_active=rng.random() < 0.97,
                )
                for user, local in zip(users, locals_, strict=True)
            )
    print(f"  seeded in {time.perf_counter() - started:.1f} s", flush=True)


def count_mailboxes(domain) -> None:
    """The Domain counters that account_create/delete keep: bulk inserts bypass them."""
    from django.db.models import Count, Sum

    from accounts.models import EmailAccount
    from domains.models import Domain

    totals = EmailAccount.objects.filter(domain=domain, deleting=False).aggregate(
        n=Count("pk"), used=Sum("storage_used_bytes", default=0)
    )
    Domain.objects.filter(pk=domain.pk).update(
        accounts_count=totals["n"], storage_used_bytes=totals["used"]
    )


# --- list pages ---------------------------------------------------------------------------


def warm_up(client, url: str) -> None:
    """Requests not timed: the connection, the template and URL caches, the session."""
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)


def measure_page(client, url: str, requests: int) -> dict:
    """Wall time of the whole request; also its CPU time in this process and the time spent
    waiting for SQL, so a busy machine (load average) can be told from a slow page."""
    from django.db import connection

    warm_up(client, url)
    queries: list[float] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append(time.perf_counter() - started)

    walls, cpus, sqls, counts = [], [], [], []
    with connection.execute_wrapper(timed):
        for _ in range(requests):
            queries.clear()
            started, cpu = time.perf_counter(), time.thread_time()
            response = client.get(url)
            walls.append((time.perf_counter() - started) * 1000)
            cpus.append((time.thread_time() - cpu) * 1000)
            sqls.append(sum(queries) * 1000)
            counts.append(len(queries))
            assert response.status_code == 200
    return {
        "min": min(walls),
        "median": statistics.median(walls),
        "p95": percentile(walls, 95),
        "cpu": statistics.median(cpus),
        "sql": statistics.median(sqls),
        # The usual count; the session middleware may write once in a while (max_queries).
        "queries": statistics.mode(counts),
        "max_queries": max(counts),
    }


def bench_lists(args: argparse.Namespace, password_hash: str) -> list[tuple]:
    from django.test import Client
    from django.urls import reverse

    org, owner, domain = seed_tenant()
    client = Client()
    client.force_login(owner)
    accounts = reverse("accounts:list", args=[domain.pk])
    domains = reverse("domains:list")
    pages = [
        ("account list, page 1", accounts),
        ("account list, search", accounts + "?q=user00042"),
        ("account list, search by name", accounts + "?q=Rossi"),
        ("account list, sort by storage ↓", accounts + "?sort=-storage"),
        ("account list, sort by last access", accounts + "?sort=last_access"),
        ("account list, page 20", accounts + "?page=20"),
        ("domain list, page 1", domains),
        ("domain list, search", domains + "?q=d05"),
    ]
    rows = []
    for size in args.sizes:
        seed_mailboxes(org, domain, size, password_hash)
        count_mailboxes(domain)
        vacuum()
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(
            f"\n{size:,} mailboxes in {domain.name}, 100 domains; load average {load}",
            flush=True,
        )
        print(
            f"  {'page':36} {'median ms':>10} {'p95 ms':>8} {'min ms':>8} {'CPU ms':>8} "
            f"{'SQL ms':>8} {'queries':>8}"
        )
        for _, url in pages:  # every page once first: the process's imports and caches
            warm_up(client, url)
        for label, url in pages:
            result = measure_page(client, url, args.requests)
            rows.append((size, label, result))
            print(
                f"  {label:36} {result['median']:10.1f} {result['p95']:8.1f} {result['min']:8.1f} "
                f"{result['cpu']:8.1f} {result['sql']:8.1f} {result['queries']:8d}"
                + (
                    f" (max {result['max_queries']})"
                    if result["max_queries"] > result["queries"]
                    else ""
                ),
                flush=True,
            )
    return rows


# --- provisioning -------------------------------------------------------------------------


def start_worker(args: argparse.Namespace, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ)
    from tempusmail.celery import worker_command

    cmd = worker_command(
        name=f"bench-{os.getpid()}", concurrency=args.concurrency, loglevel="warning"
    )
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def launch_worker(args: argparse.Namespace, log_path: Path) -> subprocess.Popen:
    """Start the worker and wait until it answers, so start-up is not counted."""
    from tempusmail.celery import app

    proc = start_worker(args, log_path)
    deadline = time.monotonic() + 60
    while not app.control.inspect(timeout=1).ping():
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the Celery worker did not start; see {log_path}")
    return proc


def stop_worker(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def bench_provisioning(args: argparse.Namespace, password_hash: str) -> dict:
    from django.db import connection
    from django.db.models import F

    from accounts import services as account_services
    from accounts.models import EmailAccount
    from domains import services as domain_services
    from domains.models import Organization
    from tempusmail.celery import app

    org, _owner, _domain = seed_tenant()
    # A fresh organization: account_create counts the organization's mailboxes against
    # the plan, and the list part may have put 100,000 in the bench one.
    prov_org = Organization.objects.create(name=f"Provisioning {time.time():.0f}", plan=org.plan)
    domain = domain_services.domain_create(
        organization=prov_org, name=f"p{time.time_ns() // 1000}.bench.example"
    )
    app.control.purge()
    log_path = ROOT / "var" / "bench-worker.log"
    log_path.parent.mkdir(exist_ok=True)
    worker: subprocess.Popen | None = None
    online_at: dict[int, float] = {}
    saved_at: dict[int, float] = {}
    done = threading.Event()

    def poll() -> None:
        """Record, every 20 ms, the accounts of the domain that became applied (Online)."""
        try:
            while not done.is_set():
                applied = EmailAccount.objects.filter(
                    domain=domain, applied_version__gte=F("desired_version")
                ).values_list("pk", flat=True)
                now = time.perf_counter()
                for pk in applied:
                    online_at.setdefault(pk, now)
                if len(online_at) >= args.accounts:
                    return
                time.sleep(0.02)
        finally:
            connection.close()

    def launch() -> subprocess.Popen:
        return launch_worker(args, log_path)

    poller = threading.Thread(target=poll, daemon=True)
    try:
        if not args.drain:
            worker = launch()
            poller.start()
        started = create_started = time.perf_counter()

        def create(n: int) -> None:
            if args.rate:
                time.sleep(max(0.0, create_started + n / args.rate - time.perf_counter()))
            account = account_services.account_create(
                domain=domain,
                local_part=f"p{n:05d}",
                first_name="Bench",
                last_name=f"{n}",
                password_hash=password_hash,
                options={},
            )
            saved_at[account.pk] = time.perf_counter()  # committed and enqueued

        def create_all(numbers: range) -> None:
            try:
                for n in numbers:
                    create(n)
            finally:
                connection.close()  # this thread's own connection

        creators = [
            threading.Thread(target=create_all, args=(range(i, args.accounts, args.creators),))
            for i in range(args.creators)
        ]
        for thread in creators:
            thread.start()
        for thread in creators:
            thread.join()
        created = time.perf_counter()
        if args.drain:  # everything queued: now measure the worker alone
            worker = launch()
            started = time.perf_counter()
            poller.start()
        poller.join(timeout=max(120, args.accounts / 5))
        done.set()
        finished = time.perf_counter()
    finally:
        done.set()
        stop_worker(worker)
    latencies = [(online_at[pk] - t) * 1000 for pk, t in saved_at.items() if pk in online_at]
    online = len(latencies)
    last_online = max(online_at.values(), default=finished)
    result = {
        "accounts": args.accounts,
        "online": online,
        "backend": args.backend,
        "concurrency": args.concurrency,
        "creators": args.creators,
        "create_rate": args.accounts / (created - create_started),
        "online_rate": online / (last_online - started),
        "median": statistics.median(latencies) if latencies else float("nan"),
        "p95": percentile(latencies, 95) if latencies else float("nan"),
    }
    print(
        f"\nprovisioning {args.accounts} accounts, MAIL_BACKEND={args.backend}, "
        f"{args.creators} creating threads, worker concurrency {args.concurrency}"
        + (f", paced at {args.rate:g}/s" if args.rate else "")
        + f"; load average {', '.join(f'{n:.1f}' for n in os.getloadavg())}"
    )
    print(f"  created (account_create):      {result['create_rate']:8.1f} accounts/s")
    print(
        f"  Online (all {online}/{args.accounts}):        {result['online_rate']:8.1f} accounts/s"
    )
    if args.drain:
        print("  (drain: accounts were queued before the worker started; the rate is its own)")
    else:
        print(f"  save → Online: median {result['median']:.0f} ms, p95 {result['p95']:.0f} ms")
    if online < args.accounts:
        print(f"  WARNING: {args.accounts - online} accounts not Online; see {log_path}")
    return result


# --- bulk change and CSV import (batched pushes) ------------------------------------------


def batch_domain(label: str):
    """A fresh organization (the owner's) with one verified domain."""
    from domains import services as domain_services
    from domains.models import Domain, Membership, Organization, Role, Verification

    org, owner, _domain = seed_tenant()
    fresh = Organization.objects.create(name=f"{label} {time.time():.0f}", plan=org.plan)
    Membership.objects.create(user=owner, organization=fresh, role=Role.OWNER)
    domain = domain_services.domain_create(
        organization=fresh, name=f"{label.lower()}{time.time_ns() // 1000}.bench.example"
    )
    Domain.objects.filter(pk=domain.pk).update(verification=Verification.VERIFIED)
    domain.refresh_from_db()
    return owner, domain


def wait_online(domain, count: int, timeout: float, **wanted) -> tuple[float, int]:
    """Poll (every 50 ms) until `count` accounts of the domain match `wanted` and are Online;
    the time it happened and how many were."""
    from django.db.models import F

    from accounts.models import EmailAccount

    deadline = time.perf_counter() + timeout
    online = 0
    while time.perf_counter() < deadline:
        online = EmailAccount.objects.filter(
            domain=domain, applied_version__gte=F("desired_version"), **wanted
        ).count()
        if online >= count:
            break
        time.sleep(0.05)
    return time.perf_counter(), online


def bench_bulk(args: argparse.Namespace, password_hash: str) -> dict:
    from django.conf import settings

    from accounts import bulk, sync
    from accounts.models import EmailAccount, User
    from domains.access import get_domain_for
    from tempusmail.celery import app

    count = args.batch_accounts
    owner, domain = batch_domain("Bulk")
    print(f"\nbulk change of {count} accounts: seeding and pushing them…", flush=True)
    users = User.objects.bulk_create(
        User(email=f"b{n:05d}@{domain.name}", password=password_hash) for n in range(count)
    )
    accounts = EmailAccount.objects.bulk_create(
        EmailAccount(
            organization_id=domain.organization_id,
            domain=domain,
            user=user,
            local_part=user.email.partition("@")[0],
            address=user.email,
            quota_mb=1024,
            services=list(domain.services),
            daily_send_limit=500,
        )
        for user in users
    )
    ids = [a.pk for a in accounts]
    seeded = time.perf_counter()
    size = settings.BULK_CHUNK_SIZE
    for first in range(0, count, size):  # in this process: then the directory holds them
        sync.accounts_push(account_ids=ids[first : first + size])
    pushed = time.perf_counter()
    app.control.purge()
    log_path = ROOT / "var" / "bench-worker.log"
    worker = launch_worker(args, log_path)
    try:
        started = time.perf_counter()
        job = bulk.bulk_start(
            user=owner,
            domain=get_domain_for(owner, domain.pk, write=True),
            kind="storage",
            params={"quota_mb": 5120},
            q="",
        )
        finished, online = wait_online(domain, count, max(120, count / 20), quota_mb=5120)
    finally:
        stop_worker(worker)
    job.refresh_from_db()
    elapsed = finished - started
    result = {"accounts": count, "online": online, "seconds": elapsed, "rate": online / elapsed}
    print(
        f"  MAIL_BACKEND={args.backend}, worker concurrency {args.concurrency}, chunks of "
        f"{settings.BULK_CHUNK_SIZE}; load average {', '.join(f'{n:.1f}' for n in os.getloadavg())}"
    )
    print(
        f"  first push of the seeded accounts (in process, batched): "
        f"{count / (pushed - seeded):8.1f} accounts/s"
    )
    print(
        f"  bulk job start → all {online}/{count} Online: {elapsed:.1f} s, "
        f"{result['rate']:.1f} accounts/s (job {job.state}: {job.done} done, {job.failed} failed)"
    )
    if online < count:
        print(f"  WARNING: {count - online} accounts not Online; see {log_path}")
    return result


def bench_import_csv(args: argparse.Namespace, password_hash: str) -> dict:
    import csv
    import io

    from accounts import bulk, csvio
    from tempusmail.celery import app

    count = args.batch_accounts
    owner, domain = batch_domain("Import")
    phc = password_hash.removeprefix("argon2")  # the PHC string, as another system exports it
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["address", "first_name", "last_name", "password_hash", "storage_mb"])
    for n in range(count):
        writer.writerow([f"i{n:05d}", "Imported", f"{n}", phc, 1024])
    data = out.getvalue().encode()
    print(f"\nCSV import of {count} accounts ({len(data) // 1024} KB, hashes given)", flush=True)
    app.control.purge()
    log_path = ROOT / "var" / "bench-worker.log"
    worker = launch_worker(args, log_path)
    try:
        started = time.perf_counter()
        job, parsed = csvio.preview(user=owner, domain=domain, data=data, file_name="bench.csv")
        previewed = time.perf_counter()
        if parsed.errors or job.params["counts"]["create"] != count:
            sys.exit(f"the preview refused the file: {parsed.errors or job.params['counts']}")
        csvio.import_start(job=job)
        bulk.enqueue(job)
        finished, online = wait_online(domain, count, max(180, count / 10))
    finally:
        stop_worker(worker)
    again = time.perf_counter()
    job2, _parsed = csvio.preview(user=owner, domain=domain, data=data, file_name="bench.csv")
    again = time.perf_counter() - again
    job.refresh_from_db()
    elapsed = finished - started
    result = {"accounts": count, "online": online, "seconds": elapsed, "rate": online / elapsed}
    print(
        f"  MAIL_BACKEND={args.backend}, worker concurrency {args.concurrency}; "
        f"load average {', '.join(f'{n:.1f}' for n in os.getloadavg())}"
    )
    print(f"  preview (dry run): {previewed - started:.1f} s")
    print(
        f"  upload → all {online}/{count} Online: {elapsed:.1f} s, {result['rate']:.1f} "
        f"accounts/s (job {job.state}: {job.done} done, {job.failed} failed)"
    )
    print(f"  preview of the same file again: {again:.1f} s, {job2.params['counts']}")
    if online < count:
        print(f"  WARNING: {count - online} accounts not Online; see {log_path}")
    return result


# --- imports of external mailboxes ---------------------------------------------------------

IMPORT_FOLDERS = {
    "INBOX": 0.4,
    "Sent Items": 0.2,
    "Spam": 0.1,
    "Deleted Items": 0.1,
    "Work/2024": 0.2,
}


def _bench_message(folder: str, n: int, size: int) -> bytes:
    head = (
        f"From: Bench <bench@external.test>\r\nTo: user@external.test\r\n"
        f"Subject: {folder} {n}\r\nMessage-ID: <{folder.replace(' ', '.')}.{n}@bench>\r\n"
        "Date: Tue, 3 Mar 2026 10:00:00 +0100\r\n\r\n"
    )
    line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
    return (head + line * max(1, (size - len(head)) // len(line))).encode()


def bench_imports(args: argparse.Namespace, password_hash: str) -> dict:
    """Import throughput (see the module's docstring)."""
    sys.path.insert(0, str(ROOT))
    from django.conf import settings

    from accounts import services as account_services
    from accounts import sync as account_sync
    from domains import services as domain_services
    from domains.models import Organization
    from tempusmail.celery import app
    from tests.imports.conftest import run_provider
    from tests.mailstack.conftest import run_stack
    from webmail_settings import crypto, importer
    from webmail_settings.models import ExternalMailbox, SyncState

    org, _owner, _domain = seed_tenant()
    size = args.message_kb * 1024
    runs = []
    with run_stack() as stack, run_provider() as provider:
        settings.EXTERNAL_MAIL_ALLOWED_NETWORKS = [f"{provider.ip}/32"]
        settings.EXTERNAL_MAIL_CA_FILE = str(provider.ca)
        settings.EXTERNAL_MAIL_RATE_LIMIT = 0
        stamp = time.time_ns() // 1000
        source = provider.add_user(f"bench{stamp}@external.test", "Bench-External-1")
        counts = {f: round(args.messages * share) for f, share in IMPORT_FOLDERS.items()}
        counts["INBOX"] += args.messages - sum(counts.values())
        for folder, count in counts.items():
            provider.fill(
                source,
                folder,
                [
                    ("\\Seen" if n % 2 else "", _bench_message(folder, n, size))
                    for n in range(count)
                ],
            )
        total_bytes = args.messages * size
        imp_org = Organization.objects.create(name=f"Imports {stamp}", plan=org.plan)
        domain = domain_services.domain_create(organization=imp_org, name=f"i{stamp}.bench.example")
        for run in range(args.import_runs):
            account = account_services.account_create(
                domain=domain,
                local_part=f"import{run}",
                first_name="Bench",
                last_name="Import",
                password_hash=password_hash,
                options={},
            )
            account_sync.account_push(account_id=account.pk)
            connection = ExternalMailbox.objects.create(
                organization=imp_org,
                account=account,
                manual=True,
                imap_host=provider.ip,
                imap_port=993,
                imap_security="tls",
                smtp_host=provider.ip,
                smtp_port=465,
                login=source,
                password_encrypted=crypto.encrypt("Bench-External-1"),
                state=SyncState.QUEUED,
            )
            started = time.perf_counter()
            state = importer.sync(mailbox_id=connection.pk)
            elapsed = time.perf_counter() - started
            connection.refresh_from_db()
            if state != SyncState.IDLE or connection.messages_imported != args.messages:
                sys.exit(f"import failed: {state} {connection.last_error_params}")
            runs.append(elapsed)
            print(
                f"  run {run + 1}: {args.messages} messages in {elapsed:.2f} s = "
                f"{args.messages / elapsed:.0f} messages/s, "
                f"{total_bytes / elapsed / 1024**2:.1f} MB/s",
                flush=True,
            )
        provider.fill(source, "INBOX", [("", _bench_message("new", n, size)) for n in range(10)])
        started = time.perf_counter()
        importer.sync(mailbox_id=connection.pk)
        resync = time.perf_counter() - started
        connection.refresh_from_db()
        assert connection.messages_imported == args.messages + 10
        del stack
    app.control.purge()
    median = statistics.median(runs)
    result = {
        "messages": args.messages,
        "kb": args.message_kb,
        "median_s": median,
        "rate": args.messages / median,
        "mb_s": total_bytes / median / 1024**2,
        "resync_s": resync,
    }
    print(
        f"\nimport of {args.messages} messages of {args.message_kb} KB in 5 folders "
        f"(median of {len(runs)}); load average "
        f"{', '.join(f'{n:.1f}' for n in os.getloadavg())}\n"
        f"  {result['rate']:.0f} messages/s, {result['mb_s']:.1f} MB/s "
        f"({median:.2f} s); re-sync bringing 10 new: {resync:.2f} s",
        flush=True,
    )
    return result


def main() -> None:
    args = parse_args()
    prepare_database(args.database_url, fresh=args.fresh)
    setup_django(args)
    from django.contrib.auth.hashers import make_password

    password_hash = make_password(PASSWORD)  # once: hashing is not what is measured
    print(f"database {args.database_url}; broker {args.broker_url}", flush=True)
    if args.lists:
        bench_lists(args, password_hash)
    if args.provisioning:
        bench_provisioning(args, password_hash)
    if args.bulk:
        bench_bulk(args, password_hash)
    if args.import_csv:
        bench_import_csv(args, password_hash)
    if args.imports:
        bench_imports(args, password_hash)


if __name__ == "__main__":
    main()
