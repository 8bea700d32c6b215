"""The sign-in failure window: failures count for LOGIN_FAILURE_WINDOW seconds, then expire and
the right password works again (today's rule: per client address and per login name)."""

import time

import pytest

from tests.conftest import wait_until

from .helpers import clear_cache, sign_in

THROTTLED = "Too many failed sign-in attempts"


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.mark.parametrize("limit", ["LOGIN_FAILURES_PER_ACCOUNT", "LOGIN_FAILURES_PER_IP"])
def test_failures_expire_after_the_window(client, settings, owner, limit):
    settings.LOGIN_FAILURE_WINDOW = 2
    setattr(settings, limit, 2)
    started = time.monotonic()
    for _ in range(2):
        sign_in(client, owner.email, "wrong-password-x")
    assert THROTTLED in sign_in(client, owner.email).content.decode()

    def signed_in():
        response = sign_in(client, owner.email)
        return response.status_code == 302 or None

    wait_until(signed_in, timeout=15, interval=0.25, what="the failures to expire")
    assert time.monotonic() - started >= 1, "throttling ended before the window"
