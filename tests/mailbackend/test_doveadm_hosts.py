"""Several mail hosts behind the Dovecot adapter: every host is reached over its doveadm HTTP
API (here a stand-in that answers like Dovecot 2.3's and records what it was asked). A push
is confirmed by every host; one that does not answer is named in the error and its details,
the others are still told; quotas are summed over the hosts."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tempusmail.mailbackend import BackendError
from tempusmail.mailbackend.dovecot import DovecotBackend
from tempusmail.mailbackend.dovecot.doveadm import configured_hosts

from .test_dovecot_backend import ADDRESS, state

KEY = "the-api-key"


class FakeApi:
    """One host's doveadm HTTP API: records (command, params); answers per `answers`."""

    def __init__(self, name: str) -> None:
        self.name, self.calls, self.answers, self.up = name, [], {}, True
        self.homes: dict[str, str] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                expected = "X-Dovecot-API " + base64.b64encode(KEY.encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                ((command, params, tag),) = body  # one command per request, like Dovecot wants
                api.calls.append((command, params))
                answer = api.answers.get(command, [])
                if command == "user":
                    user = params["userMask"][0]
                    answer = {user: {"home": api.homes[user]}} if user in api.homes else 67
                kind = "error" if isinstance(answer, int) else "doveadmResponse"
                payload = {"type": "exitCode", "exitCode": answer} if kind == "error" else answer
                data = json.dumps([[kind, payload, tag]]).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def commands(self) -> list[str]:
        return [command for command, _params in self.calls]


@pytest.fixture
def hosts(directory, settings):
    apis = [FakeApi("mx1"), FakeApi("mx2")]
    settings.DOVEADM_HOSTS = " ".join(f"{a.name}=http://127.0.0.1:{a.port}" for a in apis)
    settings.DOVEADM_API_KEY = KEY
    settings.DOVEADM_TIMEOUT = 2
    yield apis
    for api in apis:
        api.stop()


def test_the_settings_list_the_hosts_by_name():
    from django.test import override_settings

    with override_settings(DOVEADM_HOSTS="mx1=http://10.0.0.1:10808, http://mx2.example:10808"):
        assert [(h.name, h.url) for h in configured_hosts()] == [
            ("mx1", "http://10.0.0.1:10808"),
            ("mx2.example", "http://mx2.example:10808"),
        ]


def test_every_host_is_told_of_each_push_and_a_deactivation_kicks_on_each(hosts, directory):
    backend = DovecotBackend()
    backend.apply_account(state(version=1))
    for api in hosts:
        assert api.calls == [("authCacheFlush", {"user": [ADDRESS]})]
        api.calls.clear()
        api.answers["kick"] = 68  # nobody logged in here: nothing to kick is no failure

    backend.apply_account(state(version=2, active=False))

    for api in hosts:
        assert api.calls == [
            ("authCacheFlush", {"user": [ADDRESS]}),
            ("kick", {"mask": [ADDRESS]}),
        ]
    assert directory.doveadm_calls() == []  # no local binary once hosts are configured


def test_a_host_that_does_not_answer_is_named_and_the_others_are_still_told(hosts, directory):
    backend = DovecotBackend()
    hosts[0].stop()

    with pytest.raises(BackendError) as caught:
        backend.apply_account(state(version=3, quota_bytes=77))

    assert str(caught.value).startswith("mail host mx1 not updated yet: mx1 did not answer")
    assert list(caught.value.details["hosts"]) == ["mx1"]
    assert hosts[1].commands() == ["authCacheFlush"]
    # The directory is committed all the same: the host reads it once it is back.
    assert directory.mailbox(ADDRESS)["quota_bytes"] == 77


def test_a_failing_command_and_a_wrong_key_are_reported_per_host(hosts, settings):
    backend = DovecotBackend()
    hosts[1].answers["authCacheFlush"] = 75
    with pytest.raises(BackendError) as caught:
        backend.apply_account(state(version=1))
    assert caught.value.details == {
        "hosts": {"mx2": "doveadm authCacheFlush failed (exit code 75)"}
    }

    settings.DOVEADM_API_KEY = "wrong"
    with pytest.raises(BackendError) as caught:
        backend.apply_account(state(version=1))
    assert caught.value.details == {
        "hosts": {name: "refused the request (HTTP 401)" for name in ("mx1", "mx2")}
    }


def quota(user: str, kilobytes: int) -> list[dict]:
    return [
        {"username": user, "root": "User quota", "type": "STORAGE", "value": str(kilobytes)},
        {"username": user, "root": "User quota", "type": "MESSAGE", "value": "3"},
    ]


def test_storage_is_summed_over_the_hosts_and_unknown_if_one_is_unreadable(hosts, settings):
    settings.POLICY_REDIS_URL = ""
    hosts[0].answers["quotaGet"] = quota(ADDRESS, 10) + quota("bob@a.example", 1)
    hosts[1].answers["quotaGet"] = quota(ADDRESS, 5) + quota("eve@a.example", 99)
    backend = DovecotBackend()

    usage = backend.usage([ADDRESS, "bob@a.example"])

    assert usage[ADDRESS].storage_bytes == 15 * 1024
    assert usage["bob@a.example"].storage_bytes == 1024
    assert ("quotaGet", {"user": "*@a.example"}) in hosts[1].calls  # one request per domain

    hosts[1].stop()
    usage = backend.usage([ADDRESS])
    assert usage[ADDRESS].storage_bytes is None  # not a partial sum that looks like lost mail


def test_a_removed_account_is_purged_on_every_host_before_its_rows_go(hosts, directory):
    backend = DovecotBackend()
    backend.apply_account(state(version=1))
    home = "/srv/mail/a.example/ann"
    for api in hosts:
        api.homes[ADDRESS] = home
        api.calls.clear()
    hosts[1].stop()

    with pytest.raises(BackendError, match="mail host mx2 not updated yet"):
        backend.remove_account(ADDRESS)
    # Not removed yet: the deletion is retried until every host purged the mail.
    assert directory.mailbox(ADDRESS)["active"] == 0

    hosts[1] = FakeApi("mx2")  # back, on another port
    hosts[1].homes[ADDRESS] = home
    from django.conf import settings

    settings.DOVEADM_HOSTS = " ".join(f"{a.name}=http://127.0.0.1:{a.port}" for a in hosts)
    backend.remove_account(ADDRESS)

    assert directory.mailbox(ADDRESS) is None
    for api in hosts:
        assert (
            "fsDelete",
            {"recursive": True, "fsDriver": "posix", "fsArgs": "dirs", "path": [home]},
        ) in api.calls


def test_a_new_mailbox_gets_a_storage_host_and_pushes_keep_it(directory, settings):
    backend = DovecotBackend()
    backend.apply_account(state(version=1))
    assert directory.mailbox(ADDRESS)["host"] == ""  # one host: no column value

    settings.MAIL_STORAGE_HOSTS = "10.0.0.11 10.0.0.12"
    backend.apply_account(state(address="bob@a.example", version=1))
    backend.apply_account(state(address="eve@a.example", version=1))
    placed = {a: directory.mailbox(a)["host"] for a in ("bob@a.example", "eve@a.example")}
    assert set(placed.values()) <= {"10.0.0.11", "10.0.0.12"} and all(placed.values())

    # Moved by the operator: no later push takes it back.
    directory.query("UPDATE mailbox SET host = '10.0.0.99' WHERE address = 'bob@a.example'")
    backend.apply_account(state(address="bob@a.example", version=2, quota_bytes=5))
    assert directory.mailbox("bob@a.example")["host"] == "10.0.0.99"
    # The first mailbox, created before there were hosts, gets one at its next push.
    backend.apply_account(state(version=2))
    assert directory.mailbox(ADDRESS)["host"] in {"10.0.0.11", "10.0.0.12"}


def test_a_batch_is_one_flush_per_host_and_a_stale_state_in_it_is_ignored(hosts, directory):
    """Three mailboxes pushed together: the one whose directory row is newer keeps it, the
    others are written; every host flushes the two written users in one request and kicks
    only the deactivated one."""
    backend = DovecotBackend()
    bob, cleo = "bob@a.example", "cleo@a.example"
    backend.apply_account(state(address=cleo, version=7, quota_bytes=7 * 1024**3))
    for api in hosts:
        api.calls.clear()
        api.answers["kick"] = 68

    applied = backend.apply_accounts(
        [
            state(version=1, quota_bytes=5 * 1024**3),
            state(address=bob, version=3, active=False),
            state(address=cleo, version=6, quota_bytes=1024**3),  # older than the row held
        ]
    )

    assert [s.address for s in applied] == [ADDRESS, bob]
    assert directory.mailbox(ADDRESS)["quota_bytes"] == 5 * 1024**3
    assert (directory.mailbox(bob)["active"], directory.mailbox(bob)["version"]) == (0, 3)
    held = directory.mailbox(cleo)
    assert (held["version"], held["quota_bytes"]) == (7, 7 * 1024**3)
    for api in hosts:
        assert api.calls == [
            ("authCacheFlush", {"user": [ADDRESS, bob]}),
            ("kick", {"mask": [bob]}),
        ]
