"""XMPP through Prosody, logging in with the mailbox address and password via Dovecot: two
accounts exchange a message with a real client library (slixmpp)."""

import asyncio
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from slixmpp import ClientXMPP

from accounts import services as account_services
from accounts.models import EmailAccount
from tests.conftest import PASSWORD, wait_until

from .conftest import port, push

pytestmark = [pytest.mark.mailstack]


class Client(ClientXMPP):
    """Connects, records whether the login worked and the messages received."""

    def __init__(self, jid: str, password: str) -> None:
        super().__init__(
            jid, password, plugin_config={"feature_mechanisms": {"unencrypted_plain": True}}
        )
        self.enable_starttls = False  # the development stack's Prosody has no certificate
        self.enable_direct_tls = False
        self.enable_plaintext = True
        self.outcome: asyncio.Future = asyncio.get_event_loop().create_future()
        self.received: list[tuple[str, str]] = []
        self.ended: asyncio.Future = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", self._started)
        self.add_event_handler("disconnected", self._ended)
        self.add_event_handler("failed_auth", self._failed)
        self.add_event_handler("message", self._message)

    async def _started(self, _event) -> None:
        self.send_presence()
        if not self.outcome.done():
            self.outcome.set_result(True)

    def _ended(self, _event) -> None:
        if not self.ended.done():
            self.ended.set_result(True)

    def _failed(self, _event) -> None:
        if not self.outcome.done():
            self.outcome.set_result(False)

    def _message(self, msg) -> None:
        if msg["type"] in ("chat", "normal"):
            self.received.append((msg["from"].bare, msg["body"]))


async def _login(stack, jid: str, password: str = PASSWORD) -> Client:
    client = Client(jid, password)
    client.connect("127.0.0.1", port(stack, "XMPP"))
    await asyncio.wait_for(client.outcome, 15)
    return client


def run(coroutine):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coroutine)
    finally:  # slixmpp leaves its stream tasks behind: end them before the loop
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()


def login_ok(stack, jid: str, password: str = PASSWORD) -> bool:
    async def attempt() -> bool:
        client = await _login(stack, jid, password)
        await client.disconnect()
        return client.outcome.result()

    return run(attempt())


def wait_host(stack, domain: str) -> None:
    """Prosody picks up a new mail domain from the adapter's hosts file within seconds."""
    log = Path(stack.values["XMPP_DATA_DIR"]) / "prosody.log"
    wait_until(lambda: f"Activated host: {domain}" in log.read_text(), timeout=20, what=domain)


def test_two_accounts_exchange_a_message(services, domain_a, make_account):
    alice, bob = make_account(domain_a, "chat1"), make_account(domain_a, "chat2")
    push(alice, bob)
    wait_host(services, "a.example")

    async def exchange():
        first = await _login(services, alice.address)
        second = await _login(services, bob.address)
        assert first.outcome.result() and second.outcome.result()
        first.send_message(mto=bob.address, mbody="Ciao Bob", mtype="chat")
        for _ in range(100):
            if second.received:
                break
            await asyncio.sleep(0.1)
        await first.disconnect()
        await second.disconnect()
        return second.received

    assert run(exchange()) == [(alice.address, "Ciao Bob")]


def test_xmpp_off_or_deactivated_fails_authentication(services, domain_a, make_account):
    account = make_account(domain_a, "chat3")
    push(account)
    wait_host(services, "a.example")
    assert login_ok(services, account.address)
    assert not login_ok(services, account.address, "Wrong-Password-1")
    without = [s for s in account.services if s != "xmpp"]
    account_services.account_update(account=account, values={"services": without})
    push(account)
    assert not login_ok(services, account.address)
    account_services.account_update(account=account, values={"services": [*without, "xmpp"]})
    push(account)
    assert login_ok(services, account.address)
    account_services.account_deactivate(account=account)
    push(account)
    assert not login_ok(services, account.address)


@pytest.mark.parametrize("change", ["xmpp off", "deactivated", "deleted"])
def test_open_chat_sessions_are_closed_when_access_goes(services, domain_a, make_account, change):
    """Dovecot refuses the next login; the chat already open ends too, the colleague's stays."""
    account, colleague = make_account(domain_a, "chat4"), make_account(domain_a, "chat5")
    push(account, colleague)
    wait_host(services, "a.example")

    def take_access_away() -> None:  # in another thread: close its database connection
        try:
            if change == "xmpp off":
                without = [s for s in account.services if s != "xmpp"]
                account_services.account_update(account=account, values={"services": without})
            else:
                account_services.account_deactivate(account=account)
                if change == "deleted":
                    held = EmailAccount.objects.get(pk=account.pk)
                    account_services.account_delete(account=held)
            push(account)
        finally:
            connection.close()

    async def scenario() -> tuple[bool, bool]:
        mine = await _login(services, account.address)
        theirs = await _login(services, colleague.address)
        assert mine.outcome.result() and theirs.outcome.result()
        await asyncio.get_running_loop().run_in_executor(None, take_access_away)
        await asyncio.wait_for(mine.ended, 15)  # fails the test if the session stays open
        await asyncio.sleep(0.5)  # the colleague's session had the same chance to be closed
        still_open = not theirs.ended.done()
        await theirs.disconnect()
        return mine.ended.result(), still_open

    assert run(scenario()) == (True, True)


def test_the_admin_endpoint_answers_only_to_its_key(services):
    url = f"http://127.0.0.1:{port(services, 'XMPP_ADMIN')}/tempusmail/kick"
    for header in ({}, {"Authorization": "Bearer wrong-key-of-enough-length"}):
        request = urllib.request.Request(url, data=b"x@a.example", headers=header)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310 - a loopback test server
        assert refused.value.code == 401
    key = services.values["XMPP_ADMIN_KEY"]
    request = urllib.request.Request(
        url, data=b"nobody@a.example", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        assert (answer.status, answer.read()) == (200, b"0")
