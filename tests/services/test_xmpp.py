"""XMPP through Prosody, logging in with the mailbox address and password via Dovecot: two
accounts exchange a message with a real client library (slixmpp)."""

import asyncio
from pathlib import Path

import pytest
from slixmpp import ClientXMPP

from accounts import services as account_services
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
        self.add_event_handler("session_start", self._started)
        self.add_event_handler("failed_auth", self._failed)
        self.add_event_handler("message", self._message)

    async def _started(self, _event) -> None:
        self.send_presence()
        if not self.outcome.done():
            self.outcome.set_result(True)

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
