"""Deactivate, reactivate, delete, last access and the daily sending limit, end to end."""

import smtplib

import pytest
from django.urls import reverse

from accounts import services, sync
from accounts.models import EmailAccount
from tests.conftest import PASSWORD, wait_until

from .conftest import (
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


def test_deactivate_refuses_everything_and_reactivate_keeps_the_mail(
    stack, mail_worker, domain_a, make_account
):
    account = make_account(domain_a, "life1")
    wait_online(account)
    send(stack, "someone@outside.test", "life1@a.example", "before")
    wait_subject(stack, "life1@a.example", "before")
    assert imap_ok(stack, "life1@a.example")  # a server that kept anything keeps it now

    services.account_deactivate(account=account)
    wait_online(account)
    assert not imap_ok(stack, "life1@a.example")
    assert not pop_ok(stack, "life1@a.example")
    assert not smtp_auth_ok(stack, "life1@a.example")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(stack, "someone@outside.test", "life1@a.example", "while off")
    assert refused.value.recipients["life1@a.example"][0] == 550

    account.refresh_from_db()
    services.account_reactivate(account=account)
    wait_online(account)
    assert imap_ok(stack, "life1@a.example")
    assert pop_ok(stack, "life1@a.example")
    assert smtp_auth_ok(stack, "life1@a.example")
    assert mailbox_subjects(stack, "life1@a.example") == ["before"]
    send(stack, "someone@outside.test", "life1@a.example", "after")
    wait_subject(stack, "life1@a.example", "after")


def test_delete_purges_the_mail_from_disk_and_rejects_the_address(
    stack, mail_worker, domain_a, make_account
):
    account = make_account(domain_a, "gone1")
    wait_online(account)
    send(stack, "someone@outside.test", "gone1@a.example", "soon gone")
    wait_subject(stack, "gone1@a.example", "soon gone")
    home = stack.mail_root / "mail" / "a.example" / "gone1"
    assert any(home.rglob("*soon*")) or any((home / "Maildir").rglob("*,S=*"))

    services.account_deactivate(account=account)
    account.refresh_from_db()
    services.account_delete(account=account)
    wait_until(
        lambda: not EmailAccount.objects.filter(pk=account.pk).exists(),
        what="the account row to go once the mailbox is purged",
    )
    assert not home.exists()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(stack, "someone@outside.test", "gone1@a.example", "anyone there?")
    assert refused.value.recipients["gone1@a.example"][0] == 550
    assert not imap_ok(stack, "gone1@a.example")


def test_last_access_updates_after_an_imap_login(
    stack, mail_worker, domain_a, make_account, owner, client_for
):
    account = make_account(domain_a, "seen1")
    wait_online(account)
    sync.collect_usage()
    account.refresh_from_db()
    assert account.last_login_at is None
    assert imap_ok(stack, "seen1@a.example")
    sync.collect_usage()
    account.refresh_from_db()
    assert account.last_login_at is not None
    row = client_for(owner).get(
        reverse("accounts:row", kwargs={"domain_pk": domain_a.pk, "pk": account.pk})
    )
    assert row.status_code == 200
    assert "Never" not in row.content.decode()


def test_daily_sending_limit(stack, mail_worker, domain_a, make_account, owner, client_for):
    need_policy = stack.values["POLICY_PORT"]
    assert need_policy, "the policy service ships with the project (tempusmail.policy)"
    from tempusmail.policy import store

    store.client().delete(store.sent_key("limit1@a.example"))  # Redis outlives test runs
    account = make_account(domain_a, "limit1", daily_send_limit=2)
    wait_online(account)
    with smtplib.SMTP("127.0.0.1", stack.port("SUBMISSION"), timeout=10) as client:
        client.login("limit1@a.example", PASSWORD)
        for n in (1, 2):
            client.sendmail(
                "limit1@a.example",
                ["limit1@a.example"],
                message("limit1@a.example", "limit1@a.example", f"sent {n}"),
            )
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(
                "limit1@a.example",
                ["limit1@a.example"],
                message("limit1@a.example", "limit1@a.example", "sent 3"),
            )
    code, text = refused.value.recipients["limit1@a.example"]
    assert code // 100 == 5
    assert b"Daily sending limit of 2 messages" in text
    wait_subject(stack, "limit1@a.example", "sent 2")

    sync.collect_usage()
    account.refresh_from_db()
    assert account.sent_24h == 2, store.sent_24h(["limit1@a.example"])
    row = client_for(owner).get(
        reverse("accounts:row", kwargs={"domain_pk": domain_a.pk, "pk": account.pk})
    )
    assert '<td class="num">2</td>' in row.content.decode()
