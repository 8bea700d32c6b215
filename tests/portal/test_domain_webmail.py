"""The domain's Webmail tab: localization defaults, forwarding policy, corporate signature."""

from django.urls import reverse

from webmail_settings.models import DomainWebmail

DEFAULTS = {
    "language": "it",
    "time_zone": "Europe/Rome",
    "date_format": "d.m.Y",
    "time_format": "H:i",
    "signature_policy": "none",
    "signature_html": "",
    "signature_text": "",
}


def test_tab_is_shown_to_members(client_for, viewer, domain_a):
    body = client_for(viewer).get(reverse("accounts:list", args=[domain_a.pk])).content.decode()
    assert reverse("portal:domain_webmail", args=[domain_a.pk]) in body


def test_new_accounts_start_with_domain_defaults(client_for, owner, domain_a, make_account):
    response = client_for(owner).post(
        reverse("portal:domain_webmail", args=[domain_a.pk]), DEFAULTS
    )
    assert response.status_code == 302
    account = make_account(domain_a, "newbie")
    assert (account.webmail_language, account.webmail_time_zone) == ("it", "Europe/Rome")
    assert account.date_format == "d.m.Y"
    assert (account.user.language, account.user.time_zone) == ("it", "Europe/Rome")


def test_existing_accounts_keep_their_choice_unless_asked(
    client_for, owner, domain_a, alice, reload
):
    client = client_for(owner)
    client.post(reverse("portal:domain_webmail", args=[domain_a.pk]), DEFAULTS)
    assert reload(alice).webmail_language == "en"
    client.post(
        reverse("portal:domain_webmail", args=[domain_a.pk]),
        {**DEFAULTS, "apply_to_existing": "on"},
    )
    alice = reload(alice)
    assert (alice.webmail_language, alice.date_format, alice.user.language) == (
        "it",
        "d.m.Y",
        "it",
    )


def test_per_account_webmail_section_overrides(client_for, operator, alice, reload):
    response = client_for(operator).post(
        reverse("accounts:settings", args=[alice.pk, "webmail"]),
        {
            "webmail_language": "it",
            "webmail_time_zone": "Europe/London",
            "date_format": "Y-m-d",
            "time_format": "H:i",
            "in_address_book": "on",
        },
    )
    assert response.status_code == 302
    assert reload(alice).webmail_time_zone == "Europe/London"


def test_viewer_cannot_change(client_for, viewer, domain_a):
    response = client_for(viewer).post(
        reverse("portal:domain_webmail", args=[domain_a.pk]), DEFAULTS
    )
    assert response.status_code == 403
    assert not DomainWebmail.objects.exists()


def test_viewer_sees_read_only(client_for, viewer, domain_a):
    response = client_for(viewer).get(reverse("portal:domain_webmail", args=[domain_a.pk]))
    assert response.status_code == 200
    assert "<fieldset disabled>" in response.content.decode()


def test_other_tenant_gets_404(client_for, admin_b, domain_a):
    client = client_for(admin_b)
    url = reverse("portal:domain_webmail", args=[domain_a.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, DEFAULTS).status_code == 404


def test_mailbox_owner_cannot_open_domain_page(portal, domain_a):
    assert portal.get(reverse("portal:domain_webmail", args=[domain_a.pk])).status_code == 404


def test_corporate_signature_is_sanitized_and_needs_a_body(client_for, owner, domain_a):
    client = client_for(owner)
    url = reverse("portal:domain_webmail", args=[domain_a.pk])
    response = client.post(url, {**DEFAULTS, "signature_policy": "mandatory"})
    assert response.status_code == 200
    assert "Write the corporate signature" in response.content.decode()
    client.post(
        url,
        {
            **DEFAULTS,
            "signature_policy": "default",
            "signature_html": '<p onclick="x()">{first_name}<script>alert(1)</script></p>',
        },
    )
    webmail = DomainWebmail.objects.get(domain=domain_a)
    assert webmail.signature_html == "<p>{first_name}</p>"
    assert webmail.signature_text == "{first_name}"


def test_invalid_time_zone_refused(client_for, owner, domain_a):
    response = client_for(owner).post(
        reverse("portal:domain_webmail", args=[domain_a.pk]),
        {**DEFAULTS, "time_zone": "Nowhere/Land"},
    )
    assert response.status_code == 200
    assert not DomainWebmail.objects.exists()


def test_corporate_signature_preview(client_for, owner, domain_a):
    DomainWebmail.objects.create(
        domain=domain_a, signature_policy="default", signature_html="<p><b>{full_name}</b></p>"
    )
    body = client_for(owner).get(reverse("portal:domain_webmail", args=[domain_a.pk])).content
    assert '<div class="signature-preview"><p><b>{full_name}</b></p></div>' in body.decode()
