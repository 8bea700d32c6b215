"""Administration › Email service settings (seed 004) and the portal's connect form, without
mail servers: presets, validation, edit, delete with its confirmation, hide, manual entry,
who may change the catalog, and the stored password."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command

from webmail_settings import crypto, presets, services
from webmail_settings.models import EmailService, ExternalMailbox, SyncState
from webmail_settings.remote import Server

SECRET = "Ext-Plain-Secret-77"


def catalog(client, user, org):
    client.force_login(user)
    return client.get(f"/email-services/?org={org.pk}")


def make_service(
    org, name="Corporate", imap=("imap.corp.example", 993), smtp=("smtp.corp.example", 465)
):
    return services.email_service_save(
        organization=org,
        name=name,
        imap=Server(*imap),
        imap_security="tls",
        smtp=Server(*smtp),
        smtp_tls=True,
    )


def connection(account, service=None, login="me@elsewhere.example", **fields):
    return ExternalMailbox.objects.create(
        organization_id=account.organization_id,
        account=account,
        service=service,
        service_name=service.name if service else "",
        login=login,
        password_encrypted=crypto.encrypt(SECRET),
        state=SyncState.IDLE,
        **fields,
    )


def test_each_catalog_starts_with_the_presets(client, owner, org_a, org_b, admin_b, settings):
    settings.PROVIDER_IMAP_SERVER = "mail.provider.example:993"
    settings.PROVIDER_SMTP_SERVER = "mail.provider.example:587"
    page = catalog(client, owner, org_a).content.decode()
    for preset in presets.PUBLIC:
        assert preset.name in page and preset.imap in page and preset.smtp in page
    assert "imap.gmail.com:993" in page and "smtp.office365.com:587" in page
    provider = EmailService.objects.get(organization=org_a, preset="provider")
    assert (provider.imap_server, provider.imap_security) == ("mail.provider.example:993", "tls")
    assert org_a.email_services.count() == len(presets.PUBLIC) + 1
    # Loaded once: a preset an owner deleted does not come back; B has its own copies.
    org_a.email_services.get(preset="gmail").delete()
    catalog(client, owner, org_a)
    assert not org_a.email_services.filter(preset="gmail").exists()
    catalog(client, admin_b, org_b)
    assert org_b.email_services.filter(preset="gmail").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("smtp_server", "smtp.myserver.com", "Add the port after a colon"),
        ("smtp_server", "smtp.myserver.com:2525", "The SMTP port must be 25, 465 or 587."),
        ("smtp_server", "smtp://x.example:465", "Write the server as host:port"),
        ("imap_server", "imap.myserver.com:99999", "The port must be a number from 1 to 65535."),
        ("imap_server", "bad_name!.example:993", "is not a valid server name"),
        ("imap_server", "10.0.0.1:993", "a loopback, private or internal address"),
        ("imap_server", "[::1]:993", "a loopback, private or internal address"),
        ("smtp_tls", "", "Port 465 is encrypted from the start: check Use TLS."),
        ("name", "Gmail", "already has a service with this name"),
    ],
)
def test_add_refuses_bad_input_with_a_clear_message(client, owner, org_a, field, value, message):
    catalog(client, owner, org_a)
    data = {
        "name": "Corporate mail",
        "smtp_server": "smtp.myserver.com:465",
        "smtp_tls": "on",
        "imap_server": "imap.myserver.com:993",
        "imap_security": "tls",
        field: value,
    }
    before = org_a.email_services.count()
    response = client.post(f"/email-services/new/?org={org_a.pk}", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert org_a.email_services.count() == before


def test_add_and_edit(client, owner, org_a, account_a):
    catalog(client, owner, org_a)
    data = {
        "name": "Corporate mail",
        "smtp_server": "smtp.myserver.com:465",
        "smtp_tls": "on",
        "imap_server": "imap.myserver.com:993",
        "imap_security": "tls",
    }
    response = client.post(f"/email-services/new/?org={org_a.pk}", data)
    assert response.status_code == 302
    service = org_a.email_services.get(name="Corporate mail")
    assert (service.imap_host, service.imap_port, service.smtp_port) == (
        "imap.myserver.com",
        993,
        465,
    )
    existing = connection(account_a, service)
    data.update(imap_server="mail.myserver.com:143", imap_security="starttls")
    assert client.post(f"/email-services/{service.pk}/", data).status_code == 302
    existing.refresh_from_db()
    servers = existing.servers  # read from the service: no reconnecting
    assert (servers.imap_host, servers.imap_port, servers.imap_security) == (
        "mail.myserver.com",
        143,
        "starttls",
    )


def test_delete_lists_the_users_then_stops_their_connections(
    client, owner, org_a, domain_a, make_account
):
    service = make_service(org_a)
    alice, bob = make_account(domain_a, "alice"), make_account(domain_a, "bob")
    first, second = connection(alice, service), connection(bob, service)
    client.force_login(owner)
    page = client.get(f"/email-services/{service.pk}/delete/").content.decode()
    assert "alice@a.example" in page and "bob@a.example" in page and "will stop working" in page
    assert client.post(f"/email-services/{service.pk}/delete/").status_code == 302
    assert not EmailService.objects.filter(pk=service.pk).exists()
    for conn in (first, second):
        conn.refresh_from_db()
        assert conn.state == SyncState.STOPPED and conn.service_removed
    client.force_login(alice.user)
    page = client.get(f"/portal/mailboxes/{first.pk}/").content.decode()
    assert "Your administrator removed the email service Corporate" in page
    assert "mail already imported stays" in page


def test_a_hidden_service_is_refused_by_post(client, owner, org_a, account_a):
    service = make_service(org_a)
    client.force_login(owner)
    client.post(f"/email-services/{service.pk}/visibility/", {"hidden": "1"})
    service.refresh_from_db()
    assert service.hidden
    old = connection(account_a, service)  # made before: keeps working
    client.force_login(account_a.user)
    form = client.get("/portal/mailboxes/connect/").content.decode()
    assert ">Corporate</option>" not in form and ">Gmail</option>" in form
    response = client.post(
        "/portal/mailboxes/connect/",
        {"service": service.pk, "login": "x@corp.example", "password": SECRET, "action": "test"},
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert response.context["checks"] is None
    with pytest.raises(ValidationError, match="not available"):
        services.choose_servers(account=account_a, choice=str(service.pk))
    assert ExternalMailbox.objects.filter(account=account_a).count() == 1
    old.refresh_from_db()
    assert old.servers == service  # still syncing through it
    client.force_login(owner)
    client.post(f"/email-services/{service.pk}/visibility/", {"hidden": "0"})
    client.force_login(account_a.user)
    assert ">Corporate</option>" in client.get("/portal/mailboxes/connect/").content.decode()


def test_another_organizations_service_is_refused(client, account_a, org_b):
    theirs = make_service(org_b, name="B service")
    client.force_login(account_a.user)
    response = client.post(
        "/portal/mailboxes/connect/",
        {"service": theirs.pk, "login": "x@corp.example", "password": SECRET, "action": "test"},
    )
    assert "Select a valid choice" in response.content.decode()
    with pytest.raises(ValidationError, match="not available"):
        services.choose_servers(account=account_a, choice=str(theirs.pk))


def test_manual_entry_can_be_turned_off_and_other_is_then_refused(client, owner, org_a, account_a):
    client.force_login(account_a.user)
    assert ">Other</option>" in client.get("/portal/mailboxes/connect/").content.decode()
    manual = connection(
        account_a,
        manual=True,
        imap_host="imap.other.example",
        imap_port=993,
        smtp_host="smtp.other.example",
        smtp_port=465,
    )
    client.force_login(owner)
    page = catalog(client, owner, org_a).content.decode()
    assert "Allow entering details of the mailing server manually" in page
    assert client.post("/email-services/", {"org": org_a.pk}).status_code == 302  # unchecked
    assert not services.manual_allowed(account_a)

    client.force_login(account_a.user)
    form = client.get("/portal/mailboxes/connect/").content.decode()
    assert ">Other</option>" not in form and "imap_server" not in form
    response = client.post(
        "/portal/mailboxes/connect/",
        {
            "service": "other",
            "imap_server": "imap.other.example:993",
            "imap_security": "tls",
            "smtp_server": "smtp.other.example:465",
            "smtp_tls": "on",
            "login": "x@other.example",
            "password": SECRET,
            "action": "connect",
        },
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    with pytest.raises(ValidationError, match="does not allow entering server details"):
        services.choose_servers(
            account=account_a,
            choice="other",
            imap=Server("imap.other.example", 993),
            imap_security="tls",
            smtp=Server("smtp.other.example", 465),
            smtp_tls=True,
        )
    assert ExternalMailbox.objects.filter(account=account_a).count() == 1
    manual.refresh_from_db()
    assert manual.servers == manual and manual.state == SyncState.IDLE  # keeps working


def test_only_owners_change_the_catalog(client, owner, operator, viewer, org_a, org_b, account_a):
    service = make_service(org_a)
    for member in (operator, viewer):
        page = catalog(client, member, org_a)
        assert page.status_code == 200 and "Corporate" in page.content.decode()
        assert "/visibility/" not in page.content.decode()  # no buttons
        for url in (
            f"/email-services/{service.pk}/",
            f"/email-services/{service.pk}/delete/",
            f"/email-services/{service.pk}/visibility/",
            f"/email-services/new/?org={org_a.pk}",
        ):
            assert client.post(url, {"hidden": "1", "name": "X"}).status_code == 403
        assert client.post("/email-services/", {"org": org_a.pk}).status_code == 403
    service.refresh_from_db()
    assert not service.hidden and EmailService.objects.filter(pk=service.pk).exists()
    assert catalog(client, owner, org_b).status_code == 404  # not a member of B
    assert catalog(client, account_a.user, org_a).status_code == 404  # an end user


def test_the_password_is_encrypted_and_never_shown(client, account_a, settings):
    conn = connection(account_a, manual=True, imap_host="imap.x.example", imap_port=993)
    assert SECRET not in conn.password_encrypted
    assert crypto.decrypt(conn.password_encrypted) == SECRET
    client.force_login(account_a.user)
    for url in ("/portal/mailboxes/", f"/portal/mailboxes/{conn.pk}/"):
        page = client.get(url).content.decode()
        assert SECRET not in page and conn.password_encrypted not in page
    # A refused form does not send the typed password back either.
    response = client.post(
        "/portal/mailboxes/connect/",
        {"service": "other", "login": "x", "password": SECRET, "action": "test"},
    )
    assert response.status_code == 200 and SECRET not in response.content.decode()


def test_keys_rotate(settings, account_a):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.EXTERNAL_MAIL_KEYS = [old]
    conn = connection(account_a, manual=True, imap_host="imap.x.example", imap_port=993)
    settings.EXTERNAL_MAIL_KEYS = [new, old]
    assert crypto.decrypt(conn.password_encrypted) == SECRET  # the old key still opens it
    call_command("rotate_mail_secrets", stdout=open("/dev/null", "w"))  # noqa: SIM115
    conn.refresh_from_db()
    settings.EXTERNAL_MAIL_KEYS = [new]  # the old key removed
    assert crypto.decrypt(conn.password_encrypted) == SECRET
    settings.EXTERNAL_MAIL_KEYS = [Fernet.generate_key().decode()]  # a key too few
    assert crypto.decrypt(conn.password_encrypted) is None
    with pytest.raises(Exception, match="open with no configured key"):
        call_command("rotate_mail_secrets", stdout=open("/dev/null", "w"))  # noqa: SIM115
