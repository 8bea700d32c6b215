"""Panel and portal sessions: renewed at most once a minute (a request inside the minute does
not write the session), and ended when the person's mailbox is deactivated or deleted."""

import datetime as dt

import time_machine
from django.utils import timezone

from accounts import services as account_services
from accounts import sync


def writes_session(response) -> bool:
    """A saved session is sent back as a cookie with a new expiry."""
    return "sessionid" in response.cookies


def test_the_session_is_renewed_at_most_once_a_minute(client, owner):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.force_login(owner)
        assert writes_session(client.get("/domains/"))  # first request: renewed
        clock.shift(dt.timedelta(seconds=30))
        assert not writes_session(client.get("/domains/"))
        clock.shift(dt.timedelta(seconds=29))
        assert not writes_session(client.get("/domains/"))
        clock.shift(dt.timedelta(seconds=2))  # 61 s after the last renewal
        assert writes_session(client.get("/domains/"))
        assert not writes_session(client.get("/domains/"))


def test_deactivation_ends_the_owners_session(client, account_a):
    client.force_login(account_a.user)
    assert client.get("/portal/").status_code == 200
    account_services.account_deactivate(account=account_a)
    response = client.get("/portal/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_deletion_ends_the_owners_session(client, account_a, memory_backend):
    client.force_login(account_a.user)
    assert client.get("/portal/").status_code == 200
    account_services.account_deactivate(account=account_a)
    account_a.refresh_from_db()
    account_services.account_delete(account=account_a)
    sync.account_push(account_id=account_a.pk)  # the mailbox is purged, the rows go
    response = client.get("/portal/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
