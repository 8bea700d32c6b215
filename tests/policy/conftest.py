"""A policy service on a free loopback port, against the real Redis, with a clock we move."""

import asyncio
import socket
import threading
import uuid

import pytest
import redis
from django.conf import settings

from tempusmail.policy import store
from tempusmail.policy.server import PolicyServer
from tests.conftest import need

T0 = 1_800_000_000.0  # a fixed "now"; tests move it instead of sleeping


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = settings.POLICY_REDIS_URL
    need(redis_reachable(url), f"Redis not reachable at {url}")
    return url


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def address(redis_url):
    """A fresh mailbox address per test; its keys are removed afterwards."""
    addr = f"sender-{uuid.uuid4().hex[:10]}@limits.example"
    yield addr
    store.client().delete(store.limit_key(addr), store.sent_key(addr))


class PolicyClient:
    """Speaks the protocol as Postfix's smtpd does: one connection, many requests."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> str:
        while b"\n\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("policy service closed the connection")
            self.buffer += chunk
        reply, self.buffer = self.buffer.split(b"\n\n", 1)
        assert reply.startswith(b"action="), reply
        return reply.decode().removeprefix("action=")

    def ask(self, **attrs: str) -> str:
        request = {"request": "smtpd_access_policy", **attrs}
        self.send_raw("".join(f"{k}={v}\n" for k, v in request.items()).encode() + b"\n")
        return self.reply()

    def rcpt(self, user: str, recipient: str = "rcpt@elsewhere.example", **extra) -> str:
        return self.ask(protocol_state="RCPT", sasl_username=user, recipient=recipient, **extra)

    def end_of_message(self, user: str, instance: str | None = None, **extra) -> str:
        return self.ask(
            protocol_state="END-OF-MESSAGE",
            sasl_username=user,
            instance=instance or uuid.uuid4().hex,
            recipient_count="1",
            **extra,
        )

    def send_message(self, user: str, recipients: int = 1) -> str:
        """RCPT for each recipient, then END-OF-MESSAGE: the first refusal is the answer."""
        instance = uuid.uuid4().hex
        for n in range(recipients):
            action = self.rcpt(user, f"r{n}@elsewhere.example", instance=instance)
            if action != "DUNNO":
                return action
        return self.end_of_message(user, instance)

    def close(self) -> None:
        self.sock.close()


class ThreadedPolicy:
    """The asyncio server in a background thread of the test process."""

    def __init__(self, redis_url: str, clock) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.clients: list[PolicyClient] = []

        async def start():
            self.policy = PolicyServer(redis_url, clock=clock)
            server = await self.policy.start("127.0.0.1", 0)
            return server.sockets[0].getsockname()[1]

        self.port = self.run(start())

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=20)

    def connect(self) -> PolicyClient:
        client = PolicyClient(self.port)
        self.clients.append(client)
        return client

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self.run(self.policy.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def policy(redis_url, clock):
    server = ThreadedPolicy(redis_url, clock)
    yield server
    server.stop()
