"""Mail the panel sends really leaves (issue 9, finding 8): with EMAIL_URL pointing at the
stack's own submission port (SMTP AUTH as a mailbox), a recovery request reaches the
external address's mailbox; the link read back over IMAP sets the new password, which the
mail servers then accept."""

import contextlib
import email
import re
from email import policy

import dj_email_url
import pytest
from django.test import Client

from accounts import services
from tests.conftest import PASSWORD, wait_until
from tests.security.helpers import clear_cache

from .conftest import IMAP, imap_ok, wait_online

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]

NEW = "Recovered-By-Mail-77"


def inbox_bodies(stack, address: str) -> list[str]:
    client = IMAP(stack.port("IMAP"))
    try:
        client.login(address, PASSWORD)
        client.select("INBOX", readonly=True)
        _typ, data = client.search(None, "ALL")
        bodies = []
        for num in data[0].split():
            _typ, parts = client.fetch(num, "(RFC822)")
            message = email.message_from_bytes(parts[0][1], policy=policy.default)
            bodies.append((message["Subject"], message.get_body(("plain",)).get_content()))
        return bodies
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def test_recovery_mail_goes_out_through_submission_and_its_link_works(
    stack, mail_worker, domain_a, domain_b, make_account, settings
):
    sender = make_account(domain_a, "noreply")
    home = make_account(domain_b, "home")
    lost = make_account(domain_a, "lost")
    services.account_update(account=lost, values={"external_email": "home@b.example"})
    for account in (sender, home, lost):
        wait_online(account)
    url = f"smtp://noreply%40a.example:{PASSWORD}@127.0.0.1:{stack.port('SUBMISSION')}"
    for key, value in dj_email_url.parse(url).items():
        if value is not None:
            setattr(settings, key, value)
    settings.DEFAULT_FROM_EMAIL = "noreply@a.example"
    clear_cache()

    browser = Client()
    response = browser.post("/security/recover/", {"email": "lost@a.example"})
    assert response["Location"] == "/security/recover/sent/"

    found = wait_until(
        lambda: [b for s, b in inbox_bodies(stack, "home@b.example") if "recovery" in s],
        timeout=30,
        interval=0.5,
        what="the recovery mail in home@b.example",
    )
    link = re.search(r"https?://[^/\s]+(/security/recover/\S+)", found[0]).group(1)
    form_url = browser.get(link)["Location"]
    response = browser.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert response["Location"] == "/security/recover/done/"
    lost.refresh_from_db()
    wait_online(lost)
    assert imap_ok(stack, "lost@a.example", NEW)
    assert not imap_ok(stack, "lost@a.example", PASSWORD)
