"""Password recovery through real mail: the link leaves the panel by SMTP (Postfix), lands in
the external mailbox (read over IMAP), and the password set with it is the mailbox password
Dovecot then accepts."""

import email
import re

import pytest

from accounts import services
from tests.conftest import PASSWORD

from .conftest import IMAP, imap_ok, wait_online, wait_subject

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]
NEW = "Recovered-By-Mail-77"
SUBJECT = "TempusMail password recovery"


def message_body(stack, address: str, subject: str) -> str:
    client = IMAP(stack.port("IMAP"))
    try:
        client.login(address, PASSWORD)
        client.select("INBOX", readonly=True)
        _typ, data = client.search(None, "SUBJECT", f'"{subject}"')
        _typ, parts = client.fetch(data[0].split()[-1], "(RFC822)")
        return email.message_from_bytes(parts[0][1]).get_payload(decode=True).decode()
    finally:
        client.logout()


def test_the_recovery_link_arrives_by_smtp_and_sets_the_mailbox_password(
    stack, mail_worker, settings, client, domain_a, make_account
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", stack.port("SMTP")
    settings.DEFAULT_FROM_EMAIL = "noreply@panel.test"
    home = make_account(domain_a, "home1")
    lost = make_account(domain_a, "lost1")
    services.account_update(account=lost, values={"external_email": "home1@a.example"})
    wait_online(home)
    wait_online(lost)

    response = client.post("/security/recover/", {"email": "lost1@a.example"})
    assert response["Location"] == "/security/recover/sent/"
    wait_subject(stack, "home1@a.example", SUBJECT)
    body = message_body(stack, "home1@a.example", SUBJECT)
    link = re.search(r"https?://[^/\s]+(/security/recover/\S+)", body).group(1)
    form = client.get(link)["Location"]
    done = client.post(form, {"new_password1": NEW, "new_password2": NEW})
    assert done["Location"] == "/security/recover/done/"

    wait_online(lost)
    assert imap_ok(stack, "lost1@a.example", NEW)
    assert not imap_ok(stack, "lost1@a.example", PASSWORD)
