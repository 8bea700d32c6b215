"""End to end, what the docs promise and no other test showed: an open IMAP session is cut
when its mailbox is deactivated or deleted, and forwarding still works for a full mailbox."""

import imaplib
import smtplib

import pytest
from django.db.models import F

from accounts import services
from accounts.models import EmailAccount
from domains.models import Domain
from tests.conftest import PASSWORD, wait_until

from .conftest import IMAP, mailbox_subjects, send, wait_online, wait_subject

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]


def open_session(stack, address: str) -> IMAP:
    client = IMAP(stack.port("IMAP"))
    client.login(address, PASSWORD)
    client.select("INBOX")
    return client


def cut_off(client: IMAP) -> bool:
    """True once Dovecot has closed the session (it answers NOOP until then)."""
    try:
        client.noop()
    except (imaplib.IMAP4.abort, OSError):
        return True
    return False


@pytest.mark.parametrize("delete", [False, True], ids=["deactivate", "delete"])
def test_an_open_imap_session_is_cut(stack, mail_worker, domain_a, make_account, delete):
    account = make_account(domain_a, f"kick{int(delete)}")
    wait_online(account)
    session, bystander = open_session(stack, account.address), open_session(stack, account.address)
    other = make_account(domain_a, f"stay{int(delete)}")
    wait_online(other)
    unrelated = open_session(stack, other.address)
    assert not cut_off(session)

    services.account_deactivate(account=account)
    if delete:
        account.refresh_from_db()
        services.account_delete(account=account)
        wait_until(lambda: not EmailAccount.objects.filter(pk=account.pk).exists(), what="gone")
    else:
        wait_online(account)
    wait_until(lambda: cut_off(session), timeout=15, what="Dovecot to cut the session")
    assert cut_off(bystander)
    assert not cut_off(unrelated)  # only that mailbox's sessions
    unrelated.logout()


def test_forwarding_works_for_a_full_mailbox(stack, mail_worker, domain_a, make_account):
    Domain.objects.filter(pk=domain_a.pk).update(storage_options_mb=[1, 1024])
    domain_a.refresh_from_db()
    full = make_account(domain_a, "fwdfull1", quota_mb=1)
    target = make_account(domain_a, "catch1", quota_mb=1024)
    wait_online(full)
    wait_online(target)
    big = "x" * 600_000  # one fits in the 1 MB mailbox, two do not
    send(stack, "someone@outside.test", "fwdfull1@a.example", "filler", body=big)
    wait_subject(stack, "fwdfull1@a.example", "filler")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:  # full: refused at RCPT
        send(stack, "someone@outside.test", "fwdfull1@a.example", "refused", body=big)
    assert refused.value.recipients["fwdfull1@a.example"][0] == 552

    services.account_update(
        account=EmailAccount.objects.get(pk=full.pk),
        values={"forward_to": ["catch1@a.example"], "forward_keep_copy": False},
    )
    wait_online(full)
    send(stack, "someone@outside.test", "fwdfull1@a.example", "forwarded", body=big)
    wait_subject(stack, "catch1@a.example", "forwarded")
    services.account_update(
        account=EmailAccount.objects.get(pk=full.pk), values={"forward_keep_copy": True}
    )
    wait_online(full)
    send(stack, "someone@outside.test", "fwdfull1@a.example", "kept or not", body=big)
    wait_subject(stack, "catch1@a.example", "kept or not")  # the copy does not fit: bounced
    assert mailbox_subjects(stack, "fwdfull1@a.example") == ["filler"]
    assert EmailAccount.objects.filter(pk=full.pk, applied_version=F("desired_version")).exists()
