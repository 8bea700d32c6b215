"""The Postfix policy service over a real socket, counting in the real Redis."""

import datetime
import os
import shutil
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from tempusmail.policy import store
from tempusmail.policy.server import PolicyServer
from tests.conftest import ROOT, need, wait_until

from .conftest import T0, PolicyClient, ThreadedPolicy

HOUR = 3600


def refusal(address: str, limit: int) -> str:
    return (
        f"REJECT 5.7.1 Daily sending limit of {limit} messages reached for {address}; "
        "try again later"
    )


def test_limit_n_accepts_n_messages_and_refuses_the_next(policy, address):
    store.set_limit(address, 3)
    client = policy.connect()  # one connection for every request, as Postfix reuses it
    assert [client.send_message(address) for _ in range(3)] == ["DUNNO"] * 3
    assert client.send_message(address) == refusal(address, 3)
    # Refused already at RCPT, before the body is uploaded, and at END-OF-MESSAGE too.
    assert client.rcpt(address) == refusal(address, 3)
    assert client.ask(protocol_state="DATA", sasl_username=address) == refusal(address, 3)
    assert client.end_of_message(address) == refusal(address, 3)
    assert store.sent_24h([address], now=T0) == {address: 3}


def test_a_message_counts_once_whatever_its_recipients(policy, address):
    store.set_limit(address, 2)
    client = policy.connect()
    assert client.send_message(address, recipients=5) == "DUNNO"
    assert client.send_message(address, recipients=3) == "DUNNO"
    assert store.sent_24h([address], now=T0) == {address: 2}
    assert client.send_message(address, recipients=1).startswith("REJECT 5.7.1")


def test_a_repeated_request_for_the_same_message_counts_once(policy, address):
    store.set_limit(address, 5)
    client = policy.connect()
    assert client.end_of_message(address, instance="a1b2.c3") == "DUNNO"
    assert client.end_of_message(address, instance="a1b2.c3") == "DUNNO"
    assert store.sent_24h([address], now=T0) == {address: 1}


def test_the_window_rolls_over_24_hours(policy, clock, address):
    store.set_limit(address, 2)
    client = policy.connect()
    assert client.send_message(address) == "DUNNO"  # at T0
    clock.now = T0 + 5 * HOUR
    assert client.send_message(address) == "DUNNO"
    clock.now = T0 + 23 * HOUR
    assert client.send_message(address) == refusal(address, 2)
    assert store.sent_24h([address], now=clock.now) == {address: 2}

    clock.now = T0 + 24 * HOUR + 1  # the first message left the window
    assert store.sent_24h([address], now=clock.now) == {address: 1}
    assert client.send_message(address) == "DUNNO"
    assert client.send_message(address) == refusal(address, 2)

    clock.now = T0 + 48 * HOUR + 1
    assert store.sent_24h([address], now=clock.now) == {address: 0}


def test_raising_the_limit_lets_the_account_send_again(policy, address):
    store.set_limit(address, 1)
    client = policy.connect()
    assert client.send_message(address) == "DUNNO"
    assert client.send_message(address) == refusal(address, 1)
    store.set_limit(address, 2)  # the panel pushed a higher limit
    assert client.send_message(address) == "DUNNO"
    assert client.send_message(address) == refusal(address, 2)


def test_unknown_and_unauthenticated_senders_are_not_limited(policy, address):
    client = policy.connect()
    for _ in range(5):  # no limit key: an address the panel does not manage
        assert client.send_message(address) == "DUNNO"
    assert store.sent_24h([address], now=T0) == {address: 0}

    store.set_limit(address, 1)
    # Incoming mail (no SASL login) from that address is not a submission: never counted.
    anonymous = {"protocol_state": "END-OF-MESSAGE", "sender": address, "instance": "x"}
    assert client.ask(**anonymous) == "DUNNO"
    assert client.ask(**anonymous, sasl_username="") == "DUNNO"
    assert store.sent_24h([address], now=T0) == {address: 0}


def test_clear_lifts_the_limit_but_keeps_the_count(policy, address):
    store.set_limit(address, 1)
    client = policy.connect()
    assert client.send_message(address) == "DUNNO"
    assert client.send_message(address) == refusal(address, 1)
    store.clear(address)
    assert store.get_limit(address) is None
    assert client.send_message(address) == "DUNNO"
    store.set_limit(address, 1)  # reactivated: no fresh quota
    assert client.send_message(address) == refusal(address, 1)


def test_address_case_does_not_matter(policy, address):
    store.set_limit(address.upper(), 1)
    client = policy.connect()
    assert client.send_message(address.title()) == "DUNNO"
    assert client.send_message(address) == refusal(address, 1)
    assert store.sent_24h([address.upper()], now=T0) == {address.upper(): 1}


def test_parallel_clients_never_exceed_the_limit(policy, address):
    store.set_limit(address, 25)

    def one_message(_n):
        client = PolicyClient(policy.port)
        try:
            return client.end_of_message(address)
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(one_message, range(120)))
    assert answers.count("DUNNO") == 25
    assert answers.count(refusal(address, 25)) == 95
    assert store.sent_24h([address], now=T0) == {address: 25}


def test_many_idle_connections_do_not_block_others(policy, address):
    store.set_limit(address, 1)
    idle = [policy.connect() for _ in range(200)]
    for client in idle[::20]:
        client.send_raw(b"request=smtpd_access_policy\nprotocol_state=RCPT\n")  # half a request
    active = policy.connect()
    assert active.send_message(address) == "DUNNO"
    assert active.send_message(address) == refusal(address, 1)


def test_malformed_input_is_survived(policy, address):
    store.set_limit(address, 1)
    client = policy.connect()
    # Lines without '=', undecodable bytes and stray empty lines are skipped, not fatal.
    client.send_raw(
        b"\n\nthis is not an attribute\n=novalue\n\xff\xfe\x00garbage\n"
        + b"request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n"
        + f"sasl_username={address}\ninstance=m1\n\n".encode()
    )
    assert client.reply() == "DUNNO"
    assert client.send_message(address) == refusal(address, 1)  # it was counted

    # Nonsense requests get a harmless answer.
    assert client.ask(protocol_state="", sasl_username=address) == "DUNNO"
    assert client.ask(protocol_state="END-OF-MESSAGE") == "DUNNO"
    assert client.ask(request="something_else", sasl_username=address) == "DUNNO"

    # A line longer than any Postfix sends closes that connection only.
    rogue = policy.connect()
    rogue.send_raw(b"sasl_username=" + b"x" * 100_000 + b"\n\n")
    with pytest.raises((ConnectionError, OSError)):
        rogue.reply()
    # A client that disconnects mid-request does not disturb the service.
    cut = policy.connect()
    cut.send_raw(b"request=smtpd_access_policy\nprotocol_sta")
    cut.close()

    fresh = policy.connect()
    assert fresh.send_message(address) == refusal(address, 1)
    assert client.ask(protocol_state="RCPT") == "DUNNO"  # the first connection still works


def test_redis_down_is_a_temporary_failure(clock, address):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    server = ThreadedPolicy(f"redis://127.0.0.1:{dead_port}/0", clock)
    try:
        client = server.connect()
        action = client.send_message(address)
        assert action.startswith("DEFER 4.3.0")
        assert "try again later" in action
    finally:
        server.stop()


def test_a_redis_restart_does_not_defer_the_next_message(clock, address, tmp_path):
    """Connections in the pool that the old Redis closed are replaced, not reported."""
    need(bool(shutil.which("redis-server")), "redis-server missing")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        )

        def up() -> bool:
            try:
                return redis.Redis.from_url(url).ping()
            except redis.ConnectionError:
                return False

        wait_until(up, what="private Redis")
        redis.Redis.from_url(url).set(store.limit_key(address), 5)
        return proc

    proc = start()
    server = ThreadedPolicy(url, clock)
    try:
        client = server.connect()
        assert client.send_message(address) == "DUNNO"
        proc.terminate()
        proc.wait(timeout=10)
        proc = start()
        assert client.send_message(address) == "DUNNO"
    finally:
        server.stop()
        proc.terminate()
        proc.wait(timeout=10)


def test_sent_24h_counts_several_addresses_at_once(redis_url):
    addresses = [f"s{n}-{uuid.uuid4().hex[:6]}@limits.example" for n in range(3)]
    try:
        for n, addr in enumerate(addresses):
            store.set_limit(addr, 10)
            for i in range(n + 1):
                assert store.record_sent(addr, now=T0 + i)
        assert store.sent_24h(addresses + ["nobody@limits.example"], now=T0 + 10) == {
            addresses[0]: 1,
            addresses[1]: 2,
            addresses[2]: 3,
            "nobody@limits.example": 0,
        }
        assert store.sent_24h([]) == {}
    finally:
        for addr in addresses:
            store.client().delete(store.limit_key(addr), store.sent_key(addr))


def test_the_command_line_service(redis_url, address, tmp_path):
    """`python -m tempusmail.policy --listen ... --redis ...` as deploy/ runs it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store.set_limit(address, 2)
    log = open(tmp_path / "policy.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "tempusmail.policy", "--listen", f"127.0.0.1:{port}"]
        + ["--redis", redis_url],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def connect():
            try:
                return PolicyClient(port)
            except OSError:
                return None

        client = wait_until(connect, timeout=20, what="policy service listening")
        assert client.send_message(address) == "DUNNO"
        assert client.send_message(address) == "DUNNO"
        assert client.send_message(address) == refusal(address, 2)
        assert store.sent_24h([address]) == {address: 2}
        client.close()
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0  # SIGTERM is a clean stop
        log.close()
    assert "listening" in (tmp_path / "policy.log").read_text()


def test_a_server_object_does_not_need_django(redis_url):
    """The service runs beside Postfix without the panel's settings or database."""
    code = "import tempusmail.policy.server as s; print(s.PolicyServer.__name__)"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert out.stdout.strip() == PolicyServer.__name__, out.stderr


def test_every_message_counts_on_its_domains_day_limited_or_not(policy, clock):
    """The dashboard's daily figures: one per message sent through the policy service, with
    or without a limit, a repeated request once, per domain and UTC day."""
    domain = f"days-{uuid.uuid4().hex[:8]}.example"
    limited, free = f"a@{domain}", f"b@{domain}"
    day = datetime.datetime.fromtimestamp(T0, datetime.UTC).date()
    keys = [store.day_key(limited, T0), store.day_key(limited, T0 + 86400)]
    try:
        store.set_limit(limited, 5)
        client = policy.connect()
        assert client.send_message(limited) == "DUNNO"
        assert client.send_message(free) == "DUNNO"
        assert client.send_message(free) == "DUNNO"
        client.end_of_message(limited, instance="same")
        client.end_of_message(limited, instance="same")  # Postfix asking again: counted once
        clock.now = T0 + 86400  # the next day
        assert client.send_message(free) == "DUNNO"
        next_day = day + datetime.timedelta(days=1)
        assert store.sent_per_day([domain, "quiet.example"], [day, next_day]) == {
            (domain, day): 4,
            (domain, next_day): 1,
        }
        assert 0 < store.client().ttl(keys[0]) <= store.DAY_KEEP_SECONDS
    finally:
        store.client().delete(store.limit_key(limited), store.sent_key(limited), *keys)
        store.client().delete(store.sent_key(free))
