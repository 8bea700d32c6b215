"""In headless Chromium: an end user signs in, switches to Italian, creates an HTML signature
set as default, and turns on the autoresponder."""

import re

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium):
    """A page in Debian's headless Chromium (tests/conftest.py) that records dialogs."""
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    return page


def _field(page, name: str):
    return page.locator(f'[name="{name}"]')


def test_end_user_portal_in_italian(live_server, page, alice, italian_catalog):
    address, version = alice.address, alice.desired_version
    _walk_through(page, live_server.url, address)
    assert page.dialogs == []

    from webmail_settings.models import Signature

    alice.refresh_from_db()
    alice.user.refresh_from_db()
    assert alice.user.language == "it" and alice.webmail_time_zone == "Europe/Rome"
    signature = Signature.objects.get(account=alice)
    assert signature.is_default and signature.name == "Lavoro"
    assert "onerror" not in signature.html and "script" not in signature.html
    assert alice.autoreply_enabled and alice.autoreply_subject == "Fuori sede"
    assert alice.desired_version > version  # through the provisioning pipeline


def _walk_through(page, url: str, address: str) -> None:
    page.goto(f"{url}/login/")
    page.locator('input[name="username"], input[type="email"]').first.fill(address)
    page.locator('input[type="password"]').first.fill(PASSWORD)
    page.locator('form button[type="submit"]').first.click()
    page.wait_for_url(re.compile(r"/portal/$"))
    assert address in page.content()

    # Switch to Italian
    page.get_by_role("link", name="Preferences").click()
    page.get_by_label("Language").select_option("it")
    page.get_by_label("Time zone").select_option("Europe/Rome")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Impostazioni salvate.").wait_for()
    assert page.locator("html").get_attribute("lang") == "it"
    assert page.get_by_role("link", name="Firme").is_visible()

    # A new HTML signature, set as default (with a payload that must never run)
    page.get_by_role("link", name="Firme").click()
    page.get_by_role("link", name="Nuova firma").click()
    _field(page, "identity").select_option(address)
    page.get_by_label("Nome", exact=True).fill("Lavoro")
    page.get_by_label("Corpo HTML").fill(
        '<p><b>Alice</b> Test<br>Vendite</p><img src=x onerror="alert(1)"><script>alert(2)</script>'
    )
    page.get_by_label("Imposta come predefinita").check()
    page.get_by_role("button", name="Salva").click()
    page.get_by_text("Firma salvata.").wait_for()
    preview = page.locator(".signature-preview b", has_text="Alice")
    assert preview.is_visible()
    assert page.get_by_text("Predefinita", exact=True).is_visible()

    # Autoresponder on
    page.get_by_role("link", name="Risponditore automatico").click()
    page.get_by_label("Risponditore automatico attivo").check()
    page.get_by_label("Oggetto").fill("Fuori sede")
    page.get_by_label("Messaggio").fill("Rientro lunedì.")
    page.get_by_role("button", name="Salva").click()
    page.get_by_text("Impostazioni salvate.").wait_for()
    assert page.get_by_label("Risponditore automatico attivo").is_checked()
