"""Daily sending limits in Redis: what the Dovecot adapter writes and the policy service reads.

Keys (one pair per mailbox address, lower case):

- ``tm:limit:<address>``: the account's daily limit, a string integer. No key: no limit
  (an address the panel does not manage, or a mailbox whose limit was cleared).
- ``tm:sent:<address>``: a sorted set with one member per accepted message, scored by its
  unix time; a member counts while its score is greater than now minus 24 hours. The
  counting script trims older members, and the key expires a day after the last message,
  so an idle or deleted mailbox leaves nothing behind.
- ``tm:day:<domain>:<YYYY-MM-DD>``: messages the domain's mailboxes sent that day (UTC), with
  or without a limit; kept 40 days for the organization's dashboard.

The counter outlives ``clear()`` on purpose: deactivating and reactivating an account must
not hand it a fresh quota.
"""

import datetime
import time
import uuid

import redis
from django.conf import settings

WINDOW_SECONDS = 24 * 3600
LIMIT_PREFIX = "tm:limit:"
SENT_PREFIX = "tm:sent:"
DAY_PREFIX = "tm:day:"
DAY_KEEP_SECONDS = 40 * 24 * 3600

# KEYS: limit key, sent key, day key. ARGV: now (unix seconds), member (unique per message),
# window, how long a day counter is kept. Returns {status, count, limit}: status 1 counted,
# 2 already counted (same message), 0 refused (the window is full), -1 no limit for this
# address (the day counter still counts it).
# One script, so the check and the increments are atomic across every policy process.
COUNT_SCRIPT = """
local function day()
  redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
end
local limit = tonumber(redis.call('GET', KEYS[1]))
if not limit then day() return {-1, 0, 0} end
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
local count = redis.call('ZCARD', KEYS[2])
if redis.call('ZSCORE', KEYS[2], ARGV[2]) then return {2, count, limit} end
if count >= limit then return {0, count, limit} end
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]) + 60)
day()
return {1, count + 1, limit}
"""

# KEYS: limit key, sent key. ARGV: now, window. Returns {has_limit, count, limit}: the
# read-only check made before the message body is sent (RCPT and DATA stages).
PEEK_SCRIPT = """
local limit = tonumber(redis.call('GET', KEYS[1]))
if not limit then return {0, 0, 0} end
local now = tonumber(ARGV[1])
local count = redis.call('ZCOUNT', KEYS[2], '(' .. (now - tonumber(ARGV[2])), '+inf')
return {1, count, limit}
"""


def normalize(address: str) -> str:
    return address.strip().lower()


def limit_key(address: str) -> str:
    return LIMIT_PREFIX + normalize(address)


def sent_key(address: str) -> str:
    return SENT_PREFIX + normalize(address)


def day_key(address: str, now: float) -> str:
    """The sender's domain's counter for the (UTC) day of `now`."""
    day = datetime.datetime.fromtimestamp(now, datetime.UTC).date()
    return f"{DAY_PREFIX}{normalize(address).rpartition('@')[2]}:{day.isoformat()}"


def count_keys(address: str, now: float) -> list[str]:
    """The keys COUNT_SCRIPT works on, in its order."""
    return [limit_key(address), sent_key(address), day_key(address, now)]


def new_member(instance: str | None = None) -> str:
    """One sorted-set member per message: Postfix's instance id when known (a retried
    request for the same message counts once), a random id otherwise."""
    return f"i:{instance}" if instance else f"u:{uuid.uuid4().hex}"


def redis_url() -> str:
    return settings.POLICY_REDIS_URL


_clients: dict[str, redis.Redis] = {}


def client() -> redis.Redis:
    """One connection pool per process and URL (tests may switch the setting)."""
    url = redis_url()
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return _clients[url]


def set_limit(address: str, limit: int) -> None:
    set_limits({address: limit})


def set_limits(limits: dict[str, int]) -> None:
    """Called on every push of accounts (address: daily limit), in one round trip."""
    pipe = client().pipeline(transaction=False)
    for address, limit in limits.items():
        pipe.set(limit_key(address), int(limit))
    pipe.execute()


def clear(address: str) -> None:
    """Called when an account has no sending limit to enforce (removed or not sending)."""
    client().delete(limit_key(address))


def get_limit(address: str) -> int | None:
    value = client().get(limit_key(address))
    return int(value) if value is not None else None


def sent_24h(addresses: list[str], *, now: float | None = None) -> dict[str, int]:
    """Messages accepted in the last 24 hours, per address, in one round trip."""
    if not addresses:
        return {}
    since = (now if now is not None else time.time()) - WINDOW_SECONDS
    pipe = client().pipeline(transaction=False)
    for address in addresses:
        pipe.zcount(sent_key(address), f"({since}", "+inf")
    return {address: int(n) for address, n in zip(addresses, pipe.execute(), strict=True)}


def sent_per_day(
    domains: list[str], days: list[datetime.date]
) -> dict[tuple[str, datetime.date], int]:
    """Messages sent per domain and day, in one round trip; days without mail are left out."""
    pairs = [(d, day) for d in domains for day in days]
    if not pairs:
        return {}
    keys = [f"{DAY_PREFIX}{d}:{day.isoformat()}" for d, day in pairs]
    values = client().mget(keys)
    return {pair: int(v) for pair, v in zip(pairs, values, strict=True) if v is not None}


def record_sent(address: str, *, now: float | None = None, instance: str | None = None) -> bool:
    """Count one message as the policy service does; False when the limit refused it."""
    now = now if now is not None else time.time()
    status, _count, _limit = client().eval(
        COUNT_SCRIPT,
        3,
        *count_keys(address, now),
        repr(now),
        new_member(instance),
        WINDOW_SECONDS,
        DAY_KEEP_SECONDS,
    )
    return status != 0
