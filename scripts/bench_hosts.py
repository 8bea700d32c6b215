"""Pushes per second through the Dovecot adapter with one mail host and with two (issue 16).

    sudo .venv/bin/python -m scripts.bench_hosts [--pushes 300]

Starts two mail hosts from deploy/ (tests/mailstack's run_stack: Dovecot + Postfix + rspamd on
127.0.0.2 and 127.0.0.3) against one PostgreSQL mail directory in a new database, then pushes
account states one after the other, as one worker process does: the directory transaction,
every host's doveadm HTTP API (auth cache flush), the sending limit in Redis. Each push is a
new version of one of 50 accounts, alternating creations and changes. Prints the rate and
the latency percentiles for one host and for both.
"""

import argparse
import os
import statistics
import subprocess
import time
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tempusmail.settings")
import django  # noqa: E402

import tests.testenv  # noqa: E402,F401  (the test services: PostgreSQL, Redis)

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402

from tempusmail.mailbackend import AccountState  # noqa: E402
from tempusmail.mailbackend.dovecot import DovecotBackend  # noqa: E402
from tests.mailstack.conftest import run_stack  # noqa: E402

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def state(n: int, version: int, password_hash: str) -> AccountState:
    return AccountState(
        address=f"bench{n % 50}@a.example",
        password_hash=password_hash,
        active=True,
        quota_bytes=(100 + version) * 2**20,
        services=frozenset({"imap", "pop", "smtp"}),
        allowed_networks=(),
        forward_to=(),
        forward_keep_copy=False,
        aliases=(),
        autoresponder=None,
        spam_to_inbox=False,
        reject_all=False,
        reject_message="",
        daily_send_limit=100,
        version=version,
    )


def measure(pushes: int, offset: int, password_hash: str) -> list[float]:
    backend = DovecotBackend()
    durations = []
    for n in range(pushes):
        pushed = state(n, offset + n, password_hash)
        started = time.perf_counter()
        backend.apply_account(pushed)
        durations.append(time.perf_counter() - started)
    return durations


def report(name: str, durations: list[float]) -> None:
    ms = sorted(d * 1000 for d in durations)
    rate = len(ms) / (sum(ms) / 1000)
    p90 = ms[int(len(ms) * 0.9) - 1]
    print(f"| {name} | {len(ms)} | {rate:.0f} | {statistics.median(ms):.1f} ms | {p90:.1f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=300)
    args = parser.parse_args()
    name = f"tm_bench_hosts_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    password_hash = make_password("bench-Secret-1")
    try:
        with run_stack(url, host="127.0.0.2") as mx1, run_stack(url, host="127.0.0.3") as mx2:
            key = mx1.values["DOVEADM_API_KEY"]
            conf = mx2.dir / "dovecot.conf"
            conf.write_text(conf.read_text().replace(mx2.values["DOVEADM_API_KEY"], key))
            subprocess.run(["doveadm", "-c", str(conf), "reload"], check=True)
            settings.DOVEADM_API_KEY = key
            one = f"mx1=http://127.0.0.2:{mx1.values['DOVEADM_HTTP_PORT']}"
            two = f"{one} mx2=http://127.0.0.3:{mx2.values['DOVEADM_HTTP_PORT']}"
            settings.DOVEADM_HOSTS = one
            measure(50, 1, password_hash)  # warm: the 50 rows exist, connections are open
            print("| hosts | pushes | pushes/s | median | p90 |")
            print("| --- | --- | --- | --- | --- |")
            version = 100
            for _round in range(2):  # interleaved, so load on the machine hits both alike
                for label, hosts in (("one", one), ("two", two)):
                    settings.DOVEADM_HOSTS = hosts
                    report(label, measure(args.pushes, version, password_hash))
                    version += args.pushes + 1
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
