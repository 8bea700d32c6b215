"""What incoming mail does for each setting: quota, forwarding, aliases, autoresponder,
spam filing and reject-all, checked through Postfix's SMTP port and Dovecot's IMAP."""

import smtplib
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services, sync
from accounts.models import EmailAccount
from domains.models import Domain
from tests.conftest import wait_until

from .conftest import (
    GTUBE,
    GTUBE_TAG,
    header_values,
    mailbox_subjects,
    send,
    wait_online,
    wait_subject,
)

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]


def test_quota_refuses_delivery_beyond_capacity_and_panel_shows_usage(
    stack, mail_worker, domain_a, make_account
):
    Domain.objects.filter(pk=domain_a.pk).update(storage_options_mb=[1, 1024])
    domain_a.refresh_from_db()
    account = make_account(domain_a, "quota1", quota_mb=1)
    wait_online(account)
    body = "x" * 600_000
    send(stack, "someone@outside.test", "quota1@a.example", "first", body=body)
    wait_subject(stack, "quota1@a.example", "first")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:  # at RCPT, before DATA
        send(stack, "someone@outside.test", "quota1@a.example", "second", body=body)
    code, text = refused.value.recipients["quota1@a.example"]
    assert code == 552
    assert text == (
        b"5.2.2 <quota1@a.example>: Recipient address rejected: "
        b"Mailbox is full: storage capacity exceeded"
    )
    assert "second" not in mailbox_subjects(stack, "quota1@a.example")

    sync.collect_usage()
    account.refresh_from_db()
    assert account.storage_used_bytes > 500_000  # what the account list shows


def test_forwarding_with_and_without_a_copy(stack, mail_worker, domain_a, make_account):
    for name in ("fwd1", "target1", "target2"):
        wait_online(make_account(domain_a, name))
    account = EmailAccount.objects.get(address="fwd1@a.example")
    services.account_update(
        account=account,
        values={
            "forward_to": ["target1@a.example", "target2@a.example"],
            "forward_keep_copy": True,
        },
    )
    wait_online(account)
    send(stack, "someone@outside.test", "fwd1@a.example", "kept")
    for address in ("target1@a.example", "target2@a.example", "fwd1@a.example"):
        wait_subject(stack, address, "kept")

    services.account_update(account=account, values={"forward_keep_copy": False})
    wait_online(account)
    send(stack, "someone@outside.test", "fwd1@a.example", "not kept")
    for address in ("target1@a.example", "target2@a.example"):
        wait_subject(stack, address, "not kept")
    assert "not kept" not in mailbox_subjects(stack, "fwd1@a.example")


def test_alias_delivers_into_the_account(stack, mail_worker, domain_a, make_account):
    account = make_account(domain_a, "alias1")
    services.alias_add(account=account, address="sales1@a.example")
    wait_online(account)
    send(stack, "someone@outside.test", "sales1@a.example", "to the alias")
    wait_subject(stack, "alias1@a.example", "to the alias")


def test_autoresponder_replies_once_inside_its_dates_and_not_outside(
    stack, mail_worker, domain_a, make_account
):
    now = timezone.now()
    sender = make_account(domain_a, "sender1")
    away = make_account(
        domain_a,
        "away1",
        autoreply_enabled=True,
        autoreply_subject="Away now",
        autoreply_body="Back on Monday.",
        autoreply_start=now - timedelta(hours=1),
        autoreply_end=now + timedelta(hours=1),
    )
    past = make_account(
        domain_a,
        "past1",
        autoreply_enabled=True,
        autoreply_subject="Away last year",
        autoreply_body="Back last year.",
        autoreply_start=now - timedelta(days=400),
        autoreply_end=now - timedelta(days=300),
    )
    for account in (sender, away, past):
        wait_online(account)
    send(stack, "sender1@a.example", "past1@a.example", "to past")
    wait_subject(stack, "past1@a.example", "to past")
    send(stack, "sender1@a.example", "away1@a.example", "first to away")
    send(stack, "sender1@a.example", "away1@a.example", "second to away")
    wait_subject(stack, "away1@a.example", "second to away")
    # Sieve logs what it decided for each message: wait for the decision, not for a while.
    wait_until(
        lambda: (
            "discarded duplicate vacation response to <sender1@a.example>"
            in sieve_log(stack, "away1@a.example")
        ),
        what="Sieve to decide on the second message",
    )
    assert sieve_log(stack, "away1@a.example").count("sent vacation response") == 1
    assert "stored mail into mailbox 'INBOX'" in sieve_log(stack, "past1@a.example")
    assert "vacation" not in sieve_log(stack, "past1@a.example")
    wait_subject(stack, "sender1@a.example", "Away now")
    inbox = mailbox_subjects(stack, "sender1@a.example")
    assert inbox.count("Away now") == 1
    assert "Away last year" not in inbox


def sieve_log(stack, address: str) -> str:
    """Dovecot's log lines of deliveries to `address` (Sieve logs each action it took)."""
    return "\n".join(line for line in stack.log().splitlines() if f"lmtp({address})" in line)


def test_spam_goes_to_junk_unless_spam_to_inbox(stack, mail_worker, domain_a, make_account):
    junk = make_account(domain_a, "spam1")
    inbox = make_account(domain_a, "spam2", spam_to_inbox=True)
    wait_online(junk)
    wait_online(inbox)
    for address in ("spam1@a.example", "spam2@a.example"):
        send(stack, "x@outside.test", address, "Cheap pills", body=f"Buy now.\r\n{GTUBE_TAG}")
        send(stack, "x@outside.test", address, "Lunch?")
    wait_subject(stack, "spam1@a.example", "Cheap pills", mailbox="Junk")
    wait_subject(stack, "spam1@a.example", "Lunch?")
    assert "Cheap pills" not in mailbox_subjects(stack, "spam1@a.example")
    assert mailbox_subjects(stack, "spam1@a.example", "Junk") == ["Cheap pills"]
    wait_subject(stack, "spam2@a.example", "Cheap pills")
    assert mailbox_subjects(stack, "spam2@a.example", "Junk") == []
    # Every message went through the filter: the ham carries its verdict too.
    assert header_values(stack, "spam1@a.example", "Lunch?", "X-Spam-Status")[0].startswith("No,")


def test_gtube_is_refused_at_smtp(stack, mail_worker, domain_a, make_account):
    wait_online(make_account(domain_a, "spam3"))
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(stack, "x@outside.test", "spam3@a.example", "GTUBE", body=GTUBE)
    assert refused.value.smtp_code == 554
    send(stack, "x@outside.test", "spam3@a.example", "after GTUBE")
    wait_subject(stack, "spam3@a.example", "after GTUBE")
    assert "GTUBE" not in mailbox_subjects(stack, "spam3@a.example")


def test_reject_all_refuses_with_the_reply_text(stack, mail_worker, domain_a, make_account):
    account = make_account(domain_a, "reject1")
    services.account_update(
        account=account,
        values={
            "reject_all": True,
            "reject_message": "I left the company.\nWrite to info@a.example.",
        },
    )
    wait_online(account)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(stack, "someone@outside.test", "reject1@a.example", "hello")
    code, text = refused.value.recipients["reject1@a.example"]
    assert code == 550
    assert b"I left the company. Write to info@a.example." in text
