"""The account settings page: its sections, the password, aliases, and who may do what."""

import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import Alias, EmailAccount, User
from domains import services as domain_services
from tests.conftest import PASSWORD

MASTER = {
    "first_name": "Alice",
    "last_name": "Liddell",
    "job_title": "Buyer",
    "phone": "+39 02 1234",
    "external_email": "alice@home.test",
    "language": "it",
    "time_zone": "Europe/Rome",
}
# section -> (posted values, {field: expected value}, must the mail system learn it?)
SECTIONS = {
    "master": (MASTER, {"last_name": "Liddell", "user.language": "it"}, False),
    "general": (
        {"quota_mb": "5120", "services": ["imap", "smtp"], "daily_send_limit": "400"},
        {"quota_mb": 5120, "services": ["imap", "smtp"], "daily_send_limit": 400},
        True,
    ),
    "forward": (
        {"forward_to": "a1@elsewhere.test\na2@elsewhere.test"},
        {"forward_to": ["a1@elsewhere.test", "a2@elsewhere.test"], "forward_keep_copy": False},
        True,
    ),
    "incoming": (
        {"spam_to_inbox": "on", "reject_all": "on", "reject_message": "Closed, write to b@c.test"},
        {"spam_to_inbox": True, "reject_all": True},
        True,
    ),
    "autoresponder": (
        {
            "autoreply_enabled": "on",
            "autoreply_subject": "Away",
            "autoreply_body": "Back on Monday.",
            "autoreply_start": "2026-12-01T08:00",
            "autoreply_end": "2026-12-10T18:00",
        },
        {"autoreply_enabled": True, "autoreply_subject": "Away"},
        True,
    ),
    "security": (
        {"password_expiry_months": "3", "allowed_networks": "198.51.100.0/24"},
        {"password_expiry_months": 3, "allowed_networks": ["198.51.100.0/24"]},
        True,
    ),
    "webmail": (
        {
            "webmail_language": "it",
            "webmail_time_zone": "Europe/Rome",
            "date_format": "Y-m-d",
            "time_format": "h:i A",
        },
        {"webmail_language": "it", "date_format": "Y-m-d", "in_address_book": False},
        False,
    ),
}


def url(account, section="master"):
    return reverse("accounts:settings", args=[account.pk, section])


def value(account, dotted):
    obj = account
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("section", list(SECTIONS))
def test_each_section_saves_and_bumps_only_when_the_mail_system_must_know(
    section, client_for, owner, account_a
):
    posted, expected, mail = SECTIONS[section]
    before = account_a.desired_version
    client = client_for(owner)
    assert client.get(url(account_a, section)).status_code == 200
    response = client.post(url(account_a, section), posted)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert response["Location"] == url(account_a, section)
    assert "Settings saved." in client.get(response["Location"]).content.decode()
    account = EmailAccount.objects.select_related("user").get(pk=account_a.pk)
    for name, want in expected.items():
        assert value(account, name) == want, name
    assert account.desired_version == before + (1 if mail else 0)


def test_security_flags_alone_do_not_need_a_push(client_for, owner, account_a):
    before = account_a.desired_version
    response = client_for(owner).post(
        url(account_a, "security"),
        {"password_expiry_months": "0", "force_2fa": "on", "api_access": "on"},
    )
    assert response.status_code == 302
    account = EmailAccount.objects.get(pk=account_a.pk)
    assert account.force_2fa and account.api_access
    assert account.desired_version == before


def test_master_data_names_follow_to_the_login(client_for, owner, account_a):
    client_for(owner).post(url(account_a), MASTER)
    user = User.objects.get(pk=account_a.user_id)
    assert (user.first_name, user.last_name, user.time_zone) == ("Alice", "Liddell", "Europe/Rome")


def test_saving_unchanged_values_changes_nothing(client_for, owner, account_a):
    before = account_a.desired_version
    client = client_for(owner)
    data = {
        "quota_mb": str(account_a.quota_mb),
        "services": account_a.services,
        "daily_send_limit": str(account_a.daily_send_limit),
    }
    response = client.post(url(account_a, "general"), data, follow=True)
    assert "Nothing changed." in response.content.decode()
    assert EmailAccount.objects.get(pk=account_a.pk).desired_version == before


def test_general_refuses_what_the_domain_or_plan_does_not_offer(client_for, owner, account_a):
    domain_services.domain_update_settings(
        domain=account_a.domain,
        services=["imap"],
        storage_options_mb=[1024],
        default_daily_send_limit=500,
    )
    client = client_for(owner)
    for data in (
        {"quota_mb": "5120", "services": ["imap"], "daily_send_limit": "500"},
        {"quota_mb": "1024", "services": ["pop"], "daily_send_limit": "500"},
        {"quota_mb": "1024", "services": ["imap"], "daily_send_limit": "1001"},  # plan max 1000
        {"quota_mb": "1024", "services": ["imap"], "daily_send_limit": "0"},
    ):
        response = client.post(url(account_a, "general"), data)
        assert response.status_code == 200, data
    account = EmailAccount.objects.get(pk=account_a.pk)
    assert account.desired_version == account_a.desired_version
    assert account.daily_send_limit == 500


def test_raising_the_daily_limit_above_the_plan_default_is_flagged_chargeable(
    client_for, owner, account_a
):
    notice = "The daily sending limit is above your plan"
    client = client_for(owner)
    page = client.get(url(account_a, "general")).content.decode()
    assert notice not in page
    assert "Plan default 500 a day" in page
    data = {"quota_mb": "1024", "services": ["imap"], "daily_send_limit": "800"}
    page = client.post(url(account_a, "general"), data, follow=True).content.decode()
    assert notice in page
    assert EmailAccount.objects.get(pk=account_a.pk).daily_send_limit == 800


@pytest.mark.parametrize(
    "section, data, message",
    [
        (
            "forward",
            {"forward_to": "\n".join(f"f{n}@elsewhere.test" for n in range(21))},
            "At most 20",
        ),
        ("forward", {"forward_to": "alice@a.example"}, "cannot forward to itself"),
        ("security", {"password_expiry_months": "0", "allowed_networks": "1.2.3.4/40"}, "CIDR"),
        (
            "security",
            {
                "password_expiry_months": "0",
                "allowed_networks": "\n".join(f"10.0.0.{n}" for n in range(6)),
            },
            "At most 5",
        ),
        ("incoming", {"reject_all": "on", "reject_message": ""}, "Write the automatic reply"),
        (
            "autoresponder",
            {
                "autoreply_enabled": "on",
                "autoreply_body": "x",
                "autoreply_start": "2026-12-10T08:00",
                "autoreply_end": "2026-12-01T08:00",
            },
            "must end after it starts",
        ),
    ],
)
def test_sections_are_validated_on_the_server(section, data, message, client_for, owner, account_a):
    response = client_for(owner).post(url(account_a, section), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    account = EmailAccount.objects.get(pk=account_a.pk)
    assert account.desired_version == account_a.desired_version


# --- password --------------------------------------------------------------------------------


def test_a_typed_password_replaces_the_old_one_and_is_pushed(client_for, owner, account_a):
    response = client_for(owner).post(
        reverse("accounts:password", args=[account_a.pk]), {"password": "N3w-Secret-Phrase"}
    )
    assert response.status_code == 302
    account = EmailAccount.objects.select_related("user").get(pk=account_a.pk)
    assert account.user.check_password("N3w-Secret-Phrase")
    assert not account.user.check_password(PASSWORD)
    assert account.desired_version == account_a.desired_version + 1


def test_a_generated_password_is_shown_once_and_works(client_for, owner, account_a):
    client = client_for(owner)
    response = client.post(
        reverse("accounts:password", args=[account_a.pk]), {"generate": "on"}, follow=True
    )
    match = re.search(r'<code id="new-password">([^<]+)</code>', response.content.decode())
    assert match

    generated = html.unescape(match.group(1))
    assert User.objects.get(pk=account_a.user_id).check_password(generated)
    assert html.escape(generated) not in client.get(url(account_a, "security")).content.decode()


def test_a_weak_password_is_refused(client_for, owner, account_a):
    response = client_for(owner).post(
        reverse("accounts:password", args=[account_a.pk]), {"password": "12345678"}
    )
    assert response.status_code == 200
    assert User.objects.get(pk=account_a.user_id).check_password(PASSWORD)


def test_an_admin_cannot_give_back_an_old_password_when_reuse_is_blocked(
    client_for, owner, domain_a, make_account
):
    account = make_account(domain_a, "reuse", block_password_reuse=True)
    client = client_for(owner)
    set_url = reverse("accounts:password", args=[account.pk])
    assert client.post(set_url, {"password": "N3w-Secret-Phrase"}).status_code == 302

    response = client.post(set_url, {"password": PASSWORD})
    assert response.status_code == 200
    assert "not used before" in response.content.decode()
    assert User.objects.get(pk=account.user_id).check_password("N3w-Secret-Phrase")


# --- aliases ---------------------------------------------------------------------------------


def add_alias(client, account, address):
    return client.post(reverse("accounts:alias_add", args=[account.pk]), {"address": address})


def test_aliases_on_the_same_or_another_domain_of_the_tenant(client_for, owner, org_a, account_a):
    domain_services.domain_create(organization=org_a, name="a-other.example")
    client = client_for(owner)
    for address in ("sales@a.example", "Alice@A-Other.example"):
        response = add_alias(client, account_a, address)
        assert response.status_code == 302, response.content.decode()[-2000:]
    assert sorted(account_a.aliases.values_list("address", flat=True)) == [
        "alice@a-other.example",
        "sales@a.example",
    ]
    account = EmailAccount.objects.get(pk=account_a.pk)
    assert account.desired_version == account_a.desired_version + 2
    page = client.get(url(account_a, "aliases")).content.decode()
    assert "sales@a.example" in page and "alice@a-other.example" in page


def test_an_alias_on_another_tenants_domain_is_refused(client_for, owner, account_a, domain_b):
    response = add_alias(client_for(owner), account_a, "alice@b.example")
    assert response.status_code == 200
    assert "is not one of your domains" in response.content.decode()
    assert not Alias.objects.exists()


def test_alias_duplicates_are_refused_everywhere(
    client_for, owner, account_a, domain_a, make_account
):
    make_account(domain_a, "bruno")
    client = client_for(owner)
    assert add_alias(client, account_a, "sales@a.example").status_code == 302
    for taken in ("bruno@a.example", "sales@a.example", "SALES@a.example", "alice@a.example"):
        response = add_alias(client, account_a, taken)
        assert response.status_code == 200, taken
        assert "already in use" in response.content.decode(), taken
    assert Alias.objects.count() == 1


def test_a_new_account_cannot_take_an_alias_address(client_for, owner, account_a, domain_a):
    add_alias(client_for(owner), account_a, "sales@a.example")
    with pytest.raises(ValidationError, match="already in use"):
        services.account_create(
            domain=domain_a,
            local_part="sales",
            first_name="S",
            last_name="",
            password_hash=account_a.user.password,
            options={},
        )


def test_deleting_an_alias(client_for, owner, account_a):
    client = client_for(owner)
    add_alias(client, account_a, "sales@a.example")
    alias = Alias.objects.get()
    version = EmailAccount.objects.get(pk=account_a.pk).desired_version
    response = client.post(reverse("accounts:alias_delete", args=[account_a.pk, alias.pk]))
    assert response.status_code == 302
    assert not Alias.objects.exists()
    assert EmailAccount.objects.get(pk=account_a.pk).desired_version == version + 1


def test_another_accounts_alias_cannot_be_deleted_through_mine(
    client_for, owner, account_a, domain_a, make_account
):
    other = make_account(domain_a, "bruno")
    alias = services.alias_add(account=other, address="b2@a.example")
    response = client_for(owner).post(
        reverse("accounts:alias_delete", args=[account_a.pk, alias.pk])
    )
    assert response.status_code == 404
    assert Alias.objects.filter(pk=alias.pk).exists()


# --- deactivated: read-only ------------------------------------------------------------------


def test_a_deactivated_accounts_settings_are_read_only(client_for, owner, account_a):
    alias = services.alias_add(account=account_a, address="sales@a.example")
    services.account_deactivate(account=account_a)
    account_a.refresh_from_db()
    version = account_a.desired_version
    client = client_for(owner)
    for section in SECTIONS:
        response = client.get(url(account_a, section))
        assert response.status_code == 200, section
        page = response.content.decode()
        assert "read-only until it is reactivated" in page, section
        inputs = re.findall(r"<(?:input|select|textarea)\b[^>]*>", page)
        fields = [i for i in inputs if "csrfmiddlewaretoken" not in i and 'type="search"' not in i]
        assert fields, section
        assert all("disabled" in i for i in fields), (section, fields)
        assert ">Save<" not in page
    for section, (posted, _expected, _mail) in SECTIONS.items():
        response = client.post(url(account_a, section), posted)
        assert response.status_code == 200, section  # the form again, with the reason
        assert "reactivate it before changing its settings" in response.content.decode()
    response = client.post(reverse("accounts:password", args=[account_a.pk]), {"generate": "on"})
    assert response.status_code == 200
    assert "read-only until it is reactivated" in response.content.decode()
    assert "New password:" not in response.content.decode()
    add_alias(client, account_a, "more@a.example")
    client.post(reverse("accounts:alias_delete", args=[account_a.pk, alias.pk]))

    account = EmailAccount.objects.select_related("user").get(pk=account_a.pk)
    assert account.desired_version == version
    assert account.last_name == "Test" and account.user.language == "en"
    assert account.quota_mb == 1024 and account.forward_to == [] and not account.reject_all
    assert account.user.check_password(PASSWORD)
    assert list(account.aliases.values_list("address", flat=True)) == ["sales@a.example"]


# --- who may do what -------------------------------------------------------------------------


def write_requests(account, alias):
    return [
        (url(account, "master"), MASTER),
        (url(account, "general"), SECTIONS["general"][0]),
        (reverse("accounts:password", args=[account.pk]), {"password": "N3w-Secret-Phrase"}),
        (reverse("accounts:alias_add", args=[account.pk]), {"address": "x@a.example"}),
        (reverse("accounts:alias_delete", args=[account.pk, alias.pk]), {}),
    ]


@pytest.fixture
def alias_a(account_a):
    return services.alias_add(account=account_a, address="sales@a.example")


def test_an_operator_may_edit(client_for, operator, account_a, alias_a):
    client = client_for(operator)
    for section in [*SECTIONS, "aliases"]:
        page = client.get(url(account_a, section))
        assert page.status_code == 200 and "alice@a.example" in page.content.decode(), section
    for target, data in write_requests(account_a, alias_a):
        assert client.post(target, data).status_code == 302, target


def test_a_viewer_may_look_but_not_change(client_for, viewer, account_a, alias_a):
    version = EmailAccount.objects.get(pk=account_a.pk).desired_version
    client = client_for(viewer)
    page = client.get(url(account_a, "general")).content.decode()
    assert page and ">Save<" not in page
    assert client.get(url(account_a, "security")).status_code == 200
    for target, data in write_requests(account_a, alias_a):
        assert client.post(target, data).status_code == 403, target
    account = EmailAccount.objects.select_related("user").get(pk=account_a.pk)
    assert account.desired_version == version
    assert account.last_name == "Test" and account.user.check_password(PASSWORD)
    assert list(Alias.objects.values_list("address", flat=True)) == ["sales@a.example"]


def test_another_tenant_gets_404_and_none_of_the_data(client_for, admin_b, account_a, alias_a):
    client = client_for(admin_b)
    for section in SECTIONS:
        response = client.get(url(account_a, section))
        assert response.status_code == 404
        assert "alice" not in response.content.decode()
    for target, data in write_requests(account_a, alias_a):
        assert client.post(target, data).status_code == 404, target
    assert Alias.objects.count() == 1
    assert EmailAccount.objects.get(pk=account_a.pk).last_name == "Test"


def test_anonymous_is_sent_to_login(client, account_a, alias_a):
    assert client.get(url(account_a))["Location"].startswith(reverse("login"))
    for target, data in write_requests(account_a, alias_a):
        response = client.post(target, data)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_incoming_mail_section_is_named_for_what_it_holds(client_for, owner, account_a):
    client = client_for(owner)
    body = client.get(url(account_a, "incoming")).content.decode()
    assert (
        f'href="{url(account_a, "incoming")}" class="active" aria-current="page">Incoming mail<'
        in body
    )
    assert "Deliver spam to Inbox" in body and ">Other<" not in body
    # A link saved under its former name still opens it.
    response = client.get(url(account_a, "other"))
    assert (response.status_code, response["Location"]) == (302, url(account_a, "incoming"))
