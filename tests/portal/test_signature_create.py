"""New signature: identity, name, HTML and text bodies, default and BCC options, policies."""

import pytest
from django.urls import reverse

from accounts import services as account_services
from webmail_settings import services
from webmail_settings.models import DomainWebmail, Signature


def new(portal, **values):
    data = {"identity": values.pop("identity", "alice@a.example"), "name": "Work"}
    data.update(values)
    return portal.post(reverse("portal:signature_create"), data)


def test_create_html_signature_with_derived_text(portal, alice):
    response = new(portal, html="<p><b>Alice</b> Test<br>Sales &amp; Marketing</p>")
    assert response.status_code == 302
    signature = Signature.objects.get(account=alice)
    assert signature.html == "<p><b>Alice</b> Test<br>Sales &amp; Marketing</p>"
    assert signature.text == "Alice Test\nSales & Marketing"
    body = portal.get(reverse("portal:signatures")).content.decode()
    assert "<b>Alice</b> Test" in body


def test_plain_text_kept_when_given(portal, alice):
    new(portal, html="<p>Alice</p>", text="-- \nAlice, plain")
    assert Signature.objects.get(account=alice).text == "-- \nAlice, plain"


def test_a_body_is_required(portal, alice):
    response = new(portal, html="", text="")
    assert response.status_code == 200
    assert not Signature.objects.exists()


def test_one_default_per_identity(portal, alice):
    account_services.alias_add(account=alice, address="sales@a.example")
    new(portal, name="One", html="<p>1</p>", is_default="on")
    new(portal, name="Other identity", html="<p>x</p>", is_default="on", identity="sales@a.example")
    new(portal, name="Two", html="<p>2</p>", is_default="on", bcc_sender="on")
    defaults = Signature.objects.filter(account=alice, is_default=True)
    assert sorted(defaults.values_list("name", flat=True)) == ["Other identity", "Two"]
    two = Signature.objects.get(name="Two")
    assert two.bcc_sender and not Signature.objects.get(name="One").bcc_sender


def test_identity_must_be_ones_own(portal, alice, account_b):
    response = new(portal, html="<p>x</p>", identity=account_b.address)
    assert response.status_code == 200
    assert not Signature.objects.exists()


def test_edit_signature(portal, alice):
    new(portal, html="<p>old</p>")
    signature = Signature.objects.get()
    url = reverse("portal:signature_edit", args=[signature.pk])
    assert "old" in portal.get(url).content.decode()
    response = portal.post(
        url, {"identity": alice.address, "name": "Renamed", "html": "<i>new</i>", "text": ""}
    )
    assert response.status_code == 302
    signature.refresh_from_db()
    assert (signature.name, signature.html, signature.text) == ("Renamed", "<i>new</i>", "new")


def test_delete_signature(portal, alice):
    new(portal, html="<p>bye</p>")
    signature = Signature.objects.get()
    response = portal.post(reverse("portal:signature_delete", args=[signature.pk]))
    assert response.status_code == 302
    assert not Signature.objects.exists()


@pytest.fixture
def bobs_signature(account_b):
    return services.signature_save(
        account=account_b,
        identity=account_b.address,
        name="Bob's",
        html="<p>Bob</p>",
        text="",
        is_default=True,
        bcc_sender=False,
    )


def test_another_users_signature_is_404(portal, bobs_signature):
    edit = reverse("portal:signature_edit", args=[bobs_signature.pk])
    assert portal.get(edit).status_code == 404
    data = {"identity": "alice@a.example", "name": "mine", "html": "<p>x</p>"}
    assert portal.post(edit, data).status_code == 404
    delete = reverse("portal:signature_delete", args=[bobs_signature.pk])
    assert portal.post(delete).status_code == 404
    bobs_signature.refresh_from_db()
    assert bobs_signature.name == "Bob's"


def _corporate(domain, policy, html):
    DomainWebmail.objects.create(domain=domain, signature_policy=policy, signature_html=html)


def test_mandatory_corporate_signature_cannot_be_changed(portal, alice, domain_a):
    _corporate(domain_a, "mandatory", "<p>{first_name} {last_name}, ACME</p>")
    assert portal.get(reverse("portal:signature_create")).status_code == 403
    assert new(portal, html="<p>mine</p>").status_code == 403
    assert not Signature.objects.exists()
    body = portal.get(reverse("portal:signatures")).content.decode()
    assert "Alice Test, ACME" in body
    assert reverse("portal:signature_create") not in body


def test_default_corporate_signature_can_be_overridden(portal, alice, domain_a):
    _corporate(domain_a, "default", "<p>{first_name}, ACME</p>")
    data = portal.get(reverse("portal:api_settings")).json()
    assert data["identities"][0]["default_signature"] == "corporate"
    assert data["corporate_signature"]["html"] == "<p>Alice, ACME</p>"
    new(portal, html="<p>mine</p>", is_default="on")
    data = portal.get(reverse("portal:api_settings")).json()
    mine = Signature.objects.get()
    assert data["identities"][0]["default_signature"] == mine.pk


def test_placeholder_values_are_escaped(portal, alice, domain_a):
    _corporate(domain_a, "mandatory", '<p>{job_title}</p><a href="{phone}">call</a>')
    alice.user.job_title = '<img src=x onerror="alert(1)">Boss & co'
    alice.user.phone = "javascript:alert(1)"
    alice.user.save(update_fields=["job_title", "phone"])
    corporate = portal.get(reverse("portal:api_settings")).json()["corporate_signature"]
    assert corporate["html"] == (
        '<p>&lt;img src=x onerror="alert(1)"&gt;Boss &amp; co</p>'
        '<a rel="noopener noreferrer">call</a>'
    )
    body = portal.get(reverse("portal:signatures")).content.decode()
    assert "<img src=x" not in body and 'href="javascript' not in body


def test_staff_admin_shows_signature_html_as_text(
    client, settings, django_user_model, bobs_signature
):
    settings.STAFF_REQUIRE_2FA = False  # the security app's staff 2FA is tested there
    staff = django_user_model.objects.create_superuser("support@provider.test", "x" * 12)
    client.force_login(staff)
    bobs_signature.html = "<p>Bob</p>"
    bobs_signature.save(update_fields=["html"])
    response = client.get(f"/admin/webmail_settings/signature/{bobs_signature.pk}/change/")
    assert response.status_code == 200
    assert "&lt;p&gt;Bob&lt;/p&gt;" in response.content.decode()
