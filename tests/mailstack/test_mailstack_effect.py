"""Every change takes effect at once and stays in effect (issue 10), seen by real clients:
quota up and down, deletion, submission to a closed mailbox, a password change while Redis
is down, non-ASCII reject text, parallel deliveries against a quota, and concurrent pushes
while Postfix looks addresses up."""

import contextlib
import dataclasses
import re
import smtplib
import subprocess
import threading
import time
from collections import Counter

import pytest
from django.contrib.auth.hashers import make_password

from accounts import services
from accounts.models import EmailAccount
from tempusmail.mailbackend import AccountState
from tempusmail.mailbackend.dovecot import DovecotBackend
from tests.conftest import PASSWORD, wait_until

from .conftest import (
    IMAP,
    base_state,
    imap_ok,
    mailbox_subjects,
    message,
    pop_ok,
    send,
    smtp_auth_ok,
    wait_online,
    wait_subject,
)

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]
KB = 1024


def imap_quota(stack, address: str) -> tuple[int, int]:
    """(used, limit) in KiB, as an IMAP client sees them (GETQUOTAROOT)."""
    client = IMAP(stack.port("IMAP"))
    try:
        client.login(address, PASSWORD)
        _typ, data = client.getquotaroot("INBOX")
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    found = re.search(rb"STORAGE (\d+) (\d+)", b" ".join(d for d in data[1] if d))
    return int(found[1]), int(found[2])


def submit(stack, login: str, rcpt: str, subject: str) -> None:
    """Send as a signed-in user on the submission port; raises what the user would see."""
    with smtplib.SMTP("127.0.0.1", stack.port("SUBMISSION"), timeout=30) as client:
        client.login(login, PASSWORD)
        client.sendmail(login, [rcpt], message(login, rcpt, subject))


def refusal(call, *args, **kwargs) -> tuple[int, bytes]:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        call(*args, **kwargs)
    return next(iter(refused.value.recipients.values()))


def doveadm(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["doveadm", "-c", str(stack.dir / "dovecot.conf"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_quota_raised_and_lowered_apply_to_the_next_message(
    stack, mail_worker, small_quotas, make_account
):
    account = make_account(small_quotas, "cap1", quota_mb=1)
    wait_online(account)
    send(stack, "someone@outside.test", "cap1@a.example", "first", body="x" * 600_000)
    wait_subject(stack, "cap1@a.example", "first")
    code, text = refusal(
        send, stack, "someone@outside.test", "cap1@a.example", "too big", body="x" * 600_000
    )
    assert (code, b"Mailbox is full" in text) == (552, True)

    services.account_update(account=account, values={"quota_mb": 5})
    wait_online(account)
    started = time.monotonic()  # the very next message, not one that waited for a cache
    send(stack, "someone@outside.test", "cap1@a.example", "after raise", body="x" * 600_000)
    assert time.monotonic() - started < 1
    assert imap_quota(stack, "cap1@a.example")[1] == 5 * KB
    wait_subject(stack, "cap1@a.example", "after raise")

    account.refresh_from_db()
    services.account_update(account=account, values={"quota_mb": 1})
    wait_online(account)
    code, _text = refusal(
        send, stack, "someone@outside.test", "cap1@a.example", "after lower", body="x" * 1000
    )
    assert code == 552
    assert imap_quota(stack, "cap1@a.example")[1] == 1 * KB
    assert "after lower" not in mailbox_subjects(stack, "cap1@a.example")


def test_a_deleted_mailbox_stays_gone_on_disk_and_in_dovecot(
    stack, mail_worker, domain_a, make_account
):
    account = make_account(domain_a, "gone2")
    wait_online(account)
    send(stack, "someone@outside.test", "gone2@a.example", "last words")
    wait_subject(stack, "gone2@a.example", "last words")  # Dovecot has looked the user up
    services.account_deactivate(account=account)
    account.refresh_from_db()
    services.account_delete(account=account)
    wait_until(lambda: not EmailAccount.objects.filter(pk=account.pk).exists(), what="purged")
    home = stack.mail_root / "mail" / "a.example" / "gone2"
    assert not home.exists()

    for attempt in range(3):  # senders retry
        code, _text = refusal(send, stack, "someone@outside.test", "gone2@a.example", f"{attempt}")
        assert code == 550
    assert not home.exists()  # a refused delivery must not create an empty Maildir
    lookup = doveadm(stack, "user", "gone2@a.example")
    assert lookup.returncode == 67 and "doesn't exist" in lookup.stdout + lookup.stderr
    assert not imap_ok(stack, "gone2@a.example")


def test_submission_to_a_closed_mailbox_is_refused_like_from_outside(
    stack, mail_worker, domain_a, make_account
):
    sender, closed, rejecting = (make_account(domain_a, n) for n in ("sub1", "sub2", "sub3"))
    services.account_update(
        account=rejecting,
        values={"reject_all": True, "reject_message": "Not here any more: write to info@."},
    )
    services.account_deactivate(account=closed)
    for account in (sender, closed, rejecting):
        wait_online(account)

    for rcpt in ("sub2@a.example", "sub3@a.example"):
        outside = refusal(send, stack, "someone@outside.test", rcpt, "from outside")
        inside = refusal(submit, stack, "sub1@a.example", rcpt, "from inside")
        assert outside[0] == 550
        assert inside == outside
    assert b"Not here any more: write to info@." in inside[1]
    services.account_reactivate(account=EmailAccount.objects.get(address="sub2@a.example"))
    wait_online(EmailAccount.objects.get(address="sub2@a.example"))
    assert imap_ok(stack, "sub2@a.example")
    assert mailbox_subjects(stack, "sub2@a.example") == []  # nothing slipped in meanwhile


def test_password_change_while_redis_is_down_refuses_the_old_password_at_once(
    stack, mail_worker, domain_a, make_account
):
    account = make_account(domain_a, "redis1")
    wait_online(account)
    # Logged in everywhere: whatever the servers keep from a login, they keep it now.
    assert imap_ok(stack, "redis1@a.example")
    assert pop_ok(stack, "redis1@a.example")
    assert smtp_auth_ok(stack, "redis1@a.example")
    old_row = held_password("redis1@a.example")
    new = "Brand-New-Secret-77"
    stack.stop_redis()
    try:
        services.account_set_password(account=account, password_hash=make_password(new))
        wait_until(
            lambda: held_password("redis1@a.example") != old_row,
            what="the new hash in the mail directory",
        )
        assert not imap_ok(stack, "redis1@a.example", PASSWORD)
        assert not pop_ok(stack, "redis1@a.example", PASSWORD)
        assert not smtp_auth_ok(stack, "redis1@a.example", PASSWORD)
        assert imap_ok(stack, "redis1@a.example", new)
        wait_until(
            lambda: "sending limit" in EmailAccount.objects.get(pk=account.pk).last_error,
            what="the failed Redis write recorded",
        )
        account.refresh_from_db()
        assert account.status == "updating"  # not everything is applied yet
    finally:
        stack.start_redis()
    wait_online(account, timeout=60)  # the retry completes once Redis is back
    from tempusmail.policy import store

    assert store.get_limit("redis1@a.example") == account.daily_send_limit


def held_password(address: str) -> str:
    with DovecotBackend().connect() as db:
        row = db.execute("SELECT password FROM mailbox WHERE address = ?", (address,)).fetchone()
    return row[0] if row else ""


def test_non_ascii_reject_text_reaches_the_sender_readable(
    stack, mail_worker, domain_a, make_account
):
    account = make_account(domain_a, "ital1")
    services.account_update(
        account=account,
        values={
            "reject_all": True,
            "reject_message": "La casella non è più attiva: scrivete a «info@a.example» – grazie!",
        },
    )
    wait_online(account)
    code, text = refusal(send, stack, "someone@outside.test", "ital1@a.example", "ciao")
    assert code == 550
    # SMTP replies are ASCII (Postfix 3.7 turns every other byte into a space): the panel
    # sends the closest ASCII instead, never spaces in the middle of words.
    assert b'La casella non e piu attiva: scrivete a "info@a.example" - grazie!' in text


def test_parallel_deliveries_do_not_overshoot_the_quota(
    stack, mail_worker, small_quotas, make_account
):
    sender = make_account(small_quotas, "flood1")  # local, so bounces come back to it
    target = make_account(small_quotas, "full1", quota_mb=1)
    wait_online(sender)
    wait_online(target)
    count, size = 16, 150_000
    refused = []  # at RCPT, once the mailbox is full (Dovecot's quota-status service)

    def one(n: int) -> None:
        try:
            send(stack, "flood1@a.example", "full1@a.example", f"part {n}", body="y" * size)
        except smtplib.SMTPRecipientsRefused as error:
            assert error.recipients["full1@a.example"][0] == 552
            refused.append(n)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def settled():
        delivered = [s for s in mailbox_subjects(stack, "full1@a.example") if s.startswith("part")]
        bounced = [s for s in mailbox_subjects(stack, "flood1@a.example") if "Undeliver" in s]
        done = len(delivered) + len(bounced) + len(refused) == count
        return (delivered, bounced) if done else None

    delivered, bounced = wait_until(settled, timeout=90, interval=0.5, what="all delivered")
    used, limit = imap_quota(stack, "full1@a.example")
    assert limit == 1 * KB
    assert used <= limit, f"{used} KiB stored in a {limit} KiB mailbox"
    assert bounced or refused  # the quota did refuse some


def test_pushes_never_make_postfix_fail_a_lookup(stack, mail_worker, domain_a, make_account):
    """Postfix reads the SQLite directory with no busy timeout: a push must never make it
    answer 4xx or drop the session (WAL mode: writers do not block readers)."""
    accounts = [make_account(domain_a, f"busy{i}") for i in range(4)]
    for account in accounts:
        wait_online(account)
    backend = DovecotBackend()
    held = {a.address: sync_state(a) for a in accounts}
    stop = threading.Event()
    results: Counter = Counter()

    def push():
        version = 10_000
        while not stop.is_set():
            for address, state in held.items():
                version += 1
                backend.apply_account(dataclasses.replace(state, version=version))
                results["pushes"] += 1

    def lookups():
        while not stop.is_set():
            with smtplib.SMTP("127.0.0.1", stack.port("SMTP"), timeout=60) as client:
                client.ehlo()
                client.mail("someone@outside.test")
                try:
                    for address in held:
                        results[client.rcpt(address)[0]] += 1
                except smtplib.SMTPServerDisconnected:
                    results["dropped"] += 1
                    continue
                client.rset()

    workers = [threading.Thread(target=push)] + [threading.Thread(target=lookups) for _ in range(3)]
    for worker in workers:
        worker.start()
    wait_until(lambda: results["pushes"] >= 300, timeout=120, interval=0.2, what="300 pushes")
    stop.set()
    for worker in workers:
        worker.join()
    assert results[250] > 100
    assert set(results) == {"pushes", 250}, dict(results)


def sync_state(account) -> AccountState:
    from accounts import sync

    account.refresh_from_db()
    return sync.account_state(account)


def test_what_postfix_does_with_the_loops_the_panel_refuses(stack, mail_worker):
    """Written straight into the directory (the panel refuses the first one): a circle of
    forwards without a copy defers every message; one copy in the circle delivers."""
    backend = DovecotBackend()

    def loop(keep_copy: bool, version: int) -> None:
        for me, other in (("loop1", "loop2"), ("loop2", "loop1")):
            backend.apply_account(
                dataclasses.replace(
                    base_state(f"{me}@loop.example", version),
                    forward_to=(f"{other}@loop.example",),
                    forward_keep_copy=keep_copy and me == "loop1",
                )
            )

    loop(keep_copy=False, version=1)
    with pytest.raises(smtplib.SMTPResponseException) as deferred:
        send(stack, "someone@outside.test", "loop1@loop.example", "round and round")
    assert deferred.value.smtp_code == 451
    assert b"4.6.0" in deferred.value.smtp_error
    loop(keep_copy=True, version=2)
    send(stack, "someone@outside.test", "loop2@loop.example", "stops at loop1")
    wait_subject(stack, "loop1@loop.example", "stops at loop1")
