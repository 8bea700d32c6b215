"""The Postfix policy service that enforces each mailbox's daily sending limit.

Postfix's policy delegation protocol: the client sends ``name=value`` lines ended by an
empty line; we answer one ``action=...`` line and an empty line, and keep the connection
open for the next request (Postfix reuses it for many SMTP sessions).

What counts: one **message** per accepted submission, whatever its number of recipients
(the seeds' "number of messages sent in the last 24 hours"). Only authenticated senders
(``sasl_username``) are limited; the address is the SASL login, which is the mailbox
address. Where the checks run (deploy/postfix, submission service):

- ``smtpd_recipient_restrictions = ... check_policy_service inet:127.0.0.1:10040``:
  at RCPT (and DATA) a read-only check refuses an account whose 24-hour window is
  already full, before the client uploads the body;
- ``smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:10040``:
  at END-OF-MESSAGE the message is counted, atomically with the check (one Lua script),
  so concurrent submissions cannot overshoot the limit and a message the client
  abandoned half way is not counted. Postfix's per-message ``instance`` id makes a
  repeated request for the same message count once.

An address without a limit key (not managed by the panel) is answered DUNNO. When Redis
is unreachable the answer is a temporary failure, as Postfix itself does when a policy
service is down: the client retries later, and no limit is silently lifted.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from .store import (
    COUNT_SCRIPT,
    DAY_KEEP_SECONDS,
    PEEK_SCRIPT,
    WINDOW_SECONDS,
    count_keys,
    limit_key,
    new_member,
    sent_key,
)

log = logging.getLogger("tempusmail.policy")

MAX_LINE = 8192  # bytes; Postfix's longest attributes (certificate subjects) fit easily
MAX_ATTRIBUTES = 100  # Postfix 3.7 sends about 40
IDLE_TIMEOUT = 600.0  # seconds; Postfix closes its idle connections after 300 s by default

DUNNO = "DUNNO"
TEMPFAIL = "DEFER 4.3.0 Sending limit service temporarily unavailable; try again later"


def reject_message(address: str, limit: int) -> str:
    return (
        f"REJECT 5.7.1 Daily sending limit of {limit} messages reached for {address}; "
        "try again later"
    )


class ProtocolError(Exception):
    """Input that is not the policy protocol: the connection is closed."""


class PolicyServer:
    def __init__(
        self,
        redis_url: str,
        *,
        clock: Callable[[], float] = time.time,
        redis_connections: int = 50,
    ) -> None:
        # A pooled connection Redis closed (restart, failover) is retried once on a new one
        # instead of deferring the message; safe, as a repeated count is a no-op (instance).
        pool = aioredis.BlockingConnectionPool.from_url(
            redis_url,
            max_connections=redis_connections,
            timeout=10,
            socket_timeout=5,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
        )
        self.redis = aioredis.Redis(connection_pool=pool)
        self.count_script = self.redis.register_script(COUNT_SCRIPT)
        self.peek_script = self.redis.register_script(PEEK_SCRIPT)
        self.clock = clock
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.Task] = set()

    async def start(self, host: str, port: int) -> asyncio.Server:
        self.server = await asyncio.start_server(self.handle, host, port, limit=MAX_LINE)
        return self.server

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in list(self.connections):  # idle Postfix connections: end them cleanly
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)
        await self.redis.aclose()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        task = asyncio.current_task()
        self.connections.add(task)
        try:
            while True:
                attrs = await self.read_request(reader)
                if attrs is None:
                    break
                action = await self.decide(attrs)
                writer.write(f"action={action}\n\n".encode())
                await writer.drain()
        except ProtocolError as error:
            log.warning("policy client %s: %s; closing", peer, error)
        except (TimeoutError, ConnectionError):
            pass
        except Exception:  # one broken connection never stops the service
            log.exception("policy client %s: unexpected error; closing", peer)
        finally:
            self.connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def read_request(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        """One request's attributes, or None at end of input. Lines without '=' are
        skipped (logged), never fatal; oversized input closes the connection."""
        attrs: dict[str, str] = {}
        lines = 0
        while True:
            try:
                raw = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT)
            except (asyncio.LimitOverrunError, ValueError) as error:
                raise ProtocolError("line too long") from error
            if not raw:
                return None  # EOF; a request cut short is not answered
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                if lines:
                    return attrs
                continue  # stray empty line between requests
            lines += 1
            if lines > MAX_ATTRIBUTES:
                raise ProtocolError("too many attributes")
            name, sep, value = line.partition("=")
            if not sep or not name:
                log.warning("policy: ignoring malformed line %r", line[:80])
                continue
            attrs[name.strip().lower()] = value

    async def decide(self, attrs: dict[str, str]) -> str:
        address = attrs.get("sasl_username", "").strip().lower()
        state = attrs.get("protocol_state", "").strip().upper()
        if not address or attrs.get("request", "smtpd_access_policy") != "smtpd_access_policy":
            return DUNNO
        keys = [limit_key(address), sent_key(address)]
        now = self.clock()
        try:
            if state == "END-OF-MESSAGE":
                member = new_member(attrs.get("instance", "").strip() or None)
                status, count, limit = await self.count_script(
                    keys=count_keys(address, now),
                    args=[repr(now), member, WINDOW_SECONDS, DAY_KEEP_SECONDS],
                )
                if status == 0:
                    log.info("policy: %s refused, %s of %s sent in 24 h", address, count, limit)
                    return reject_message(address, limit)
                return DUNNO
            if state in ("RCPT", "DATA"):
                has_limit, count, limit = await self.peek_script(
                    keys=keys, args=[repr(now), WINDOW_SECONDS]
                )
                if has_limit and count >= limit:
                    return reject_message(address, limit)
                return DUNNO
        except RedisError as error:
            log.error("policy: Redis unavailable (%s); deferring %s", error, address)
            return TEMPFAIL
        return DUNNO


def parse_listen(value: str) -> tuple[str, int]:
    """'127.0.0.1:10040' or '[::1]:10040'."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


async def serve(listen: str, redis_url: str) -> None:
    """Run until SIGTERM or SIGINT."""
    import signal

    host, port = parse_listen(listen)
    policy = PolicyServer(redis_url)
    server = await policy.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    addresses = ", ".join(str(s.getsockname()[:2]) for s in server.sockets)
    log.info("policy service listening on %s", addresses)
    async with server:
        await stop.wait()
    await policy.close()
