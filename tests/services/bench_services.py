"""Measurements behind docs/services.md ("Why a plugin that asks the panel"). Not part of the
suite (the file name is not test_*); run it explicitly:

    .venv/bin/python -m pytest tests/services/bench_services.py -s -p no:cacheprovider

For a user whose domain has 50 and then 5,000 colleagues in the company address book: the
panel's services endpoint (through the live server, as Roundcube and Radicale call it), a
Roundcube login (the plugin's sync included), the company address book's first page in
Roundcube, and Radicale's company address book (one REPORT).
"""

import statistics
import time

import niquests
import pytest
from django.contrib.auth.hashers import make_password

from accounts.models import EmailAccount, User
from tempusmail.mailbackend.base import SERVICES
from tests.conftest import PASSWORD

from .conftest import SERVICES_API_KEY, port, push
from .test_dav import report_cards

pytestmark = [pytest.mark.mailstack]
RUNS = 15


def colleagues(domain, count: int, start: int) -> None:
    hashed = make_password("Unused-Password-1")
    users = User.objects.bulk_create(
        User(
            email=f"c{n:05d}@{domain.name}", password=hashed, first_name="Carla", last_name=f"N{n}"
        )
        for n in range(start, start + count)
    )
    EmailAccount.objects.bulk_create(
        EmailAccount(
            organization=domain.organization,
            domain=domain,
            user=u,
            local_part=u.email.split("@")[0],
            address=u.email,
            first_name=u.first_name,
            last_name=u.last_name,
            quota_mb=1024,
            daily_send_limit=500,
            services=list(SERVICES),
        )
        for u in users
    )


def timed(action) -> dict:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"median": statistics.median(samples), "p95": samples[int(0.95 * (RUNS - 1))]}


def roundcube_login(stack, address: str) -> niquests.Session:
    base = f"http://127.0.0.1:{port(stack, 'WEBMAIL')}/"
    session = niquests.Session()
    page = session.get(base, timeout=10).text
    token = page.split('name="_token" value="', 1)[1].split('"', 1)[0]
    answer = session.post(
        base + "?_task=login",
        data={
            "_token": token,
            "_task": "login",
            "_action": "login",
            "_timezone": "_default_",
            "_url": "",
            "_user": address,
            "_pass": PASSWORD,
        },
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.status_code
    return session


def test_measure(services, live_server, domain_a, make_account, plan):
    plan.max_accounts = 10_000
    plan.save()
    alice = make_account(domain_a, "alice")
    push(alice)
    webmail = f"http://127.0.0.1:{port(services, 'WEBMAIL')}/"
    endpoint = f"{live_server.url}/portal/api/service/settings"
    lines = []
    have = 0
    # Baseline: Roundcube's login without the plugin (its config is read at every request).
    config = services.dir / "roundcube" / "config.inc.php"
    text = config.read_text()
    config.write_text(
        text.replace("$config['plugins'] = ['tempusmail'];", "$config['plugins'] = [];")
    )
    bare = timed(lambda: roundcube_login(services, alice.address))
    config.write_text(text)
    print(f"\nRoundcube login without the plugin: {bare['median']:.0f} / {bare['p95']:.0f} ms")
    for size in (50, 5000):
        colleagues(domain_a, size - have, have)
        have = size

        def api():
            answer = niquests.get(
                endpoint,
                params={"address": alice.address, "service": "webmail"},
                headers={"Authorization": f"Bearer {SERVICES_API_KEY}"},
                timeout=30,
            )
            assert answer.status_code == 200
            return answer

        body = len(api().content)
        api_ms = timed(api)
        login_ms = timed(lambda: roundcube_login(services, alice.address))
        session = roundcube_login(services, alice.address)

        def book():
            answer = session.get(
                webmail,
                params={
                    "_task": "addressbook",
                    "_action": "list",
                    "_source": "tempusmail",
                    "_remote": "1",
                },
                headers={"X-Roundcube-Request": session.cookies.get("roundcube_sessauth", "")},
                timeout=30,
            )
            assert answer.status_code == 200

        book_ms = timed(book)
        dav_ms = timed(lambda: report_cards(services, f"{alice.address}/company/", alice.address))
        lines.append(
            f"| {size + 1} | {body / 1024:.0f} KiB | "
            f"{api_ms['median']:.0f} / {api_ms['p95']:.0f} | "
            f"{login_ms['median']:.0f} / {login_ms['p95']:.0f} | "
            f"{book_ms['median']:.0f} / {book_ms['p95']:.0f} | "
            f"{dav_ms['median']:.0f} / {dav_ms['p95']:.0f} |"
        )
    print(
        "\n| address book entries | settings document | endpoint ms (median / p95) | "
        "Roundcube login ms | company book page ms | Radicale REPORT ms |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(lines))
