"""Localization: domain defaults, per-account values, the user's own choice, the Italian UI and
dates in the user's time zone and formats."""

import datetime as dt

import pytest
from django.urls import reverse

ITALIAN = {
    "language": "it",
    "time_zone": "Europe/Rome",
    "date_format": "Y-m-d",
    "time_format": "h:i A",
}


def test_preferences_show_the_current_values(portal, alice):
    body = portal.get(reverse("portal:preferences")).content.decode()
    assert '<option value="UTC" selected>' in body
    assert '<option value="d/m/Y" selected>' in body


def test_user_changes_preferences(portal, alice, reload):
    response = portal.post(reverse("portal:preferences"), ITALIAN)
    assert response.status_code == 302
    alice = reload(alice)
    assert (alice.webmail_language, alice.webmail_time_zone) == ("it", "Europe/Rome")
    assert (alice.date_format, alice.time_format) == ("Y-m-d", "h:i A")
    assert (alice.user.language, alice.user.time_zone) == ("it", "Europe/Rome")


@pytest.mark.parametrize(
    "field,value",
    [
        ("language", "de"),
        ("time_zone", "Mars/Olympus"),
        ("date_format", "%Y"),
        ("time_format", "G"),
    ],
)
def test_invalid_preference_is_refused(portal, alice, field, value, reload):
    response = portal.post(reverse("portal:preferences"), {**ITALIAN, field: value})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode() or "error" in response.content.decode()
    assert reload(alice).webmail_language == "en"


def test_italian_portal_for_italian_user(portal, alice, italian_catalog):
    portal.post(reverse("portal:preferences"), ITALIAN)
    response = portal.get(reverse("portal:preferences"))
    body = response.content.decode()
    assert response["Content-Language"] == "it"
    assert "Preferenze" in body and "Fuso orario" in body
    assert "Time zone" not in body


def test_italian_panel_for_italian_admin(client_for, owner, domain_a, italian_catalog):
    owner.language = "it"
    owner.save(update_fields=["language"])
    client = client_for(owner)
    body = client.get(reverse("accounts:list", args=[domain_a.pk])).content.decode()
    assert "Account email" in body  # the "Email accounts" tab
    assert "Email accounts" not in body
    settings_body = client.get(reverse("portal:domain_webmail", args=[domain_a.pk])).content
    assert "Fuso orario" in settings_body.decode()


def test_english_stays_english(portal, italian_catalog):
    body = portal.get(reverse("portal:preferences")).content.decode()
    assert "Time zone" in body and "Fuso orario" not in body


def test_dates_in_user_time_zone_and_format(portal, alice):
    portal.post(reverse("portal:preferences"), {**ITALIAN, "language": "en"})
    end = dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC)  # 23:30 in Rome
    alice.autoreply_enabled = True
    alice.autoreply_body = "Away"
    alice.autoreply_end = end
    alice.save(update_fields=["autoreply_enabled", "autoreply_body", "autoreply_end"])
    body = portal.get(reverse("portal:home")).content.decode()
    assert "2026-12-31 11:30 PM" in body


def test_autoresponder_form_reads_times_in_user_time_zone(portal, alice, reload):
    portal.post(reverse("portal:preferences"), {**ITALIAN, "language": "en"})
    portal.post(
        reverse("portal:autoresponder"),
        {
            "autoreply_enabled": "on",
            "autoreply_subject": "Away",
            "autoreply_body": "Back soon",
            "autoreply_start": "2026-08-01T09:00",
        },
    )
    start = reload(alice).autoreply_start
    assert start == dt.datetime(2026, 8, 1, 7, 0, tzinfo=dt.UTC)  # CEST is UTC+2


def test_panel_dates_in_admins_time_zone(client_for, owner, alice):
    alice.last_login_at = dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC)
    alice.save(update_fields=["last_login_at"])
    client = client_for(owner)
    url = reverse("accounts:list", args=[alice.domain_id])
    assert "12:30 a.m." in client.get(url).content.decode()
    owner.time_zone = "Asia/Tokyo"
    owner.save(update_fields=["time_zone"])
    body = client.get(url).content.decode()
    assert "9:30 a.m." in body and "12:30 a.m." not in body


def test_italian_altro_names_one_thing_only(client_for, owner, domain_a, account_a, alice):
    """ "Altro" is the "Other" email service of the portal's connect form; the account settings
    section of incoming-mail options and the account row's menu have names of their own."""
    owner.language = "it"
    owner.save(update_fields=["language"])
    client = client_for(owner)
    settings_page = client.get(reverse("accounts:settings", args=[account_a.pk, "incoming"]))
    tabs = settings_page.content.decode()
    assert "Ricezione posta" in tabs and "Consegna lo spam in Posta in arrivo" in tabs
    assert "Altro" not in tabs
    row = client.get(reverse("accounts:list", args=[domain_a.pk])).content.decode()
    assert "Altre azioni" in row and ">Altro<" not in row

    alice.user.language = "it"
    alice.user.save(update_fields=["language"])
    client.force_login(alice.user)
    form = client.get(reverse("portal:mailbox_connect")).content.decode()
    assert ">Altro</option>" in form
