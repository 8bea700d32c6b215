"""The Django admin for support staff: actions, search and filters on email accounts."""

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import EmailAccount, User

CHANGELIST = "admin:accounts_emailaccount_changelist"


def act(client, action, *accounts):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [a.pk for a in accounts]},
        follow=True,
    )


def test_resync_pushes_again_what_looks_applied(staff_client, account_a, account_b, applied):
    applied(account_a)
    response = act(staff_client, "resync", account_a)
    assert "1 account(s) queued for a push." in response.content.decode()
    account = EmailAccount.objects.get(pk=account_a.pk)
    assert account.desired_version == account_a.desired_version + 1
    assert account.status == "updating"
    assert EmailAccount.objects.get(pk=account_b.pk).desired_version == 1


def test_deactivate_and_reactivate_actions(staff_client, account_a, account_b):
    response = act(staff_client, "deactivate", account_a, account_b)
    assert "2 account(s) deactivated." in response.content.decode()
    assert not EmailAccount.objects.filter(is_active=True).exists()
    assert not User.objects.get(pk=account_a.user_id).is_active

    response = act(staff_client, "deactivate", account_a)
    assert "already deactivated" in response.content.decode()

    response = act(staff_client, "reactivate", account_a)
    assert "1 account(s) reactivated." in response.content.decode()
    assert EmailAccount.objects.get(pk=account_a.pk).is_active
    assert not EmailAccount.objects.get(pk=account_b.pk).is_active


@pytest.mark.parametrize(
    "query, shown, hidden",
    [
        ("alice@a.example", "alice@a.example", "bob@b.example"),
        ("b.example", "bob@b.example", "alice@a.example"),
        ('"Org A"', "alice@a.example", "bob@b.example"),  # a quoted phrase
    ],
)
def test_search_by_address_domain_or_organization(
    staff_client, account_a, account_b, query, shown, hidden
):
    html = staff_client.get(reverse(CHANGELIST), {"q": query}).content.decode()
    assert shown in html and hidden not in html


def test_filters_by_status_and_organization(staff_client, account_a, account_b, org_a, applied):
    applied(account_b)
    services.account_deactivate(account=account_b)
    applied(account_b)
    url = reverse(CHANGELIST)

    def shown(**params):
        html = staff_client.get(url, params).content.decode()
        return {a for a in ("alice@a.example", "bob@b.example") if a in html}

    assert shown(status="updating") == {"alice@a.example"}
    assert shown(status="offline") == {"bob@b.example"}
    assert shown(status="online") == set()
    assert shown(organization__id__exact=org_a.pk) == {"alice@a.example"}


def test_the_change_page_shows_versions_and_cannot_delete(staff_client, account_a):
    html = staff_client.get(
        reverse("admin:accounts_emailaccount_change", args=[account_a.pk])
    ).content.decode()
    assert "Desired version" in html and "Applied version" in html
    assert reverse("admin:accounts_emailaccount_delete", args=[account_a.pk]) not in html


def test_admin_is_for_staff_only(client_for, owner, account_a):
    response = client_for(owner).get(reverse(CHANGELIST))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def change_form_data(client, account, **changes):
    """The admin change form as a browser would send it back, with some fields changed."""
    response = client.get(reverse("admin:accounts_emailaccount_change", args=[account.pk]))
    form = response.context["adminform"].form
    data = {
        "aliases-TOTAL_FORMS": "0",
        "aliases-INITIAL_FORMS": "0",
        "aliases-MIN_NUM_FORMS": "0",
        "aliases-MAX_NUM_FORMS": "1000",
    }
    for name, field in form.fields.items():
        value = changes.get(name, form[name].value())
        if type(field).__name__ == "SplitDateTimeField":
            data[f"{name}_0"] = data[f"{name}_1"] = ""
        elif type(field).__name__ == "BooleanField":
            if value:
                data[name] = "on"
        elif type(field).__name__ == "MultipleChoiceField":
            data[name] = list(value or [])
        elif isinstance(value, list):
            data[name] = "\n".join(value)
        else:
            data[name] = "" if value is None else str(value)
    return data


def post_change(client, account, **changes):
    url = reverse("admin:accounts_emailaccount_change", args=[account.pk])
    return client.post(url, change_form_data(client, account, **changes))


def test_staff_edits_go_through_the_service_and_are_pushed(staff_client, account_a):
    response = post_change(staff_client, account_a, quota_mb=5120)
    assert response.status_code == 302
    account = EmailAccount.objects.get(pk=account_a.pk)
    assert account.quota_mb == 5120
    assert account.desired_version == account_a.desired_version + 1


def test_staff_edits_the_rules_refuse_are_shown_not_a_server_error(staff_client, account_a):
    response = post_change(staff_client, account_a, quota_mb=999)  # not offered by the domain
    assert response.status_code == 200
    assert "storage capacities the domain offers" in response.content.decode()
    services.account_deactivate(account=account_a)
    response = post_change(staff_client, account_a, quota_mb=5120)
    assert response.status_code == 200
    assert "reactivate it before changing its settings" in response.content.decode()
    account = EmailAccount.objects.get(pk=account_a.pk)
    assert account.quota_mb == 1024


def test_staff_edit_lists_as_the_panel_shows_them_and_read_sizes(
    staff_client, account_a, make_account, domain_a
):
    make_account(domain_a, "target")
    EmailAccount.objects.filter(pk=account_a.pk).update(storage_used_bytes=3 * 1024 * 1024)
    page = staff_client.get(reverse("admin:accounts_emailaccount_change", args=[account_a.pk]))
    html = page.content.decode()
    assert "TempusMail administration" in html
    assert 'type="checkbox" name="services" value="imap"' in html  # boxes, not JSON
    assert "3.0\xa0MB of 1.0\xa0GB" in html
    response = post_change(
        staff_client,
        account_a,
        services=["imap", "smtp"],
        forward_to="target@a.example\n",
        allowed_networks="192.0.2.0/24\n2001:db8::/32",
    )
    assert response.status_code == 302
    account = EmailAccount.objects.get(pk=account_a.pk)
    assert account.services == ["imap", "smtp"]
    assert account.forward_to == ["target@a.example"]
    assert account.allowed_networks == ["192.0.2.0/24", "2001:db8::/32"]
    listing = staff_client.get(reverse(CHANGELIST)).content.decode()
    assert "3.0\xa0MB of 1.0\xa0GB" in listing


def test_paired_rules_are_refused_on_the_form_not_a_server_error(staff_client, account_a):
    services.account_update(
        account=account_a, values={"reject_all": True, "reject_message": "Gone."}
    )
    account = EmailAccount.objects.get(pk=account_a.pk)
    response = post_change(staff_client, account, reject_message="")
    assert response.status_code == 200
    assert "Write the automatic reply that rejected senders receive." in response.content.decode()
    assert EmailAccount.objects.get(pk=account_a.pk).reject_message == "Gone."


def test_every_field_the_form_offers_is_saved_the_rest_is_shown(staff_client, account_a):
    """Billing fields (renewals, payments) are the billing services': shown, not editable,
    so nothing the form takes is silently dropped by the save."""
    page = staff_client.get(reverse("admin:accounts_emailaccount_change", args=[account_a.pk]))
    offered = set(page.context["adminform"].form.fields)
    assert offered <= services.EDITABLE_FIELDS, offered - services.EDITABLE_FIELDS
    assert "period_end" not in offered and "billing day" in page.content.decode().lower()


def test_time_zones_are_chosen_from_the_list(staff_client, account_a):
    response = post_change(staff_client, account_a, webmail_time_zone="Bogus/Zone")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    response = post_change(staff_client, account_a, webmail_time_zone="Europe/Rome")
    assert response.status_code == 302
    assert EmailAccount.objects.get(pk=account_a.pk).webmail_time_zone == "Europe/Rome"


def test_staff_set_a_mailbox_password_that_reaches_the_mail_system(staff_client, account_a):
    from django.contrib.auth.hashers import check_password

    url = reverse("admin:auth_user_password_change", args=[account_a.user_id])
    page = staff_client.get(url).content.decode()
    assert 'name="usable_password"' not in page  # a mailbox login keeps a password
    response = staff_client.post(url, {"password1": "123", "password2": "123"})
    assert response.status_code == 200  # too weak: the policy refuses it on the form
    response = staff_client.post(
        url, {"password1": "Tramonto-Lago-42!", "password2": "Tramonto-Lago-42!"}
    )
    assert response.status_code == 302
    account = EmailAccount.objects.select_related("user").get(pk=account_a.pk)
    assert check_password("Tramonto-Lago-42!", account.user.password)
    assert account.desired_version == account_a.desired_version + 1  # pushed to Dovecot
    # The login's address and status follow the account: not edited on the user.
    user_page = staff_client.get(reverse("admin:accounts_user_change", args=[account_a.user_id]))
    form = user_page.context["adminform"].form
    assert "email" not in form.fields and "is_active" not in form.fields


def test_a_panel_users_time_zone_is_chosen_from_the_list(staff_client, owner):
    url = reverse("admin:accounts_user_change", args=[owner.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {
        name: ("" if form[name].value() is None else form[name].value())
        for name in form.fields
        if name not in ("groups", "user_permissions", "password")
    }
    data |= {"is_active": "on", "time_zone": "Not/AZone"}
    data.pop("last_login", None)
    data.pop("date_joined", None)
    response = staff_client.post(url, data)
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    owner.refresh_from_db()
    assert owner.time_zone == "UTC"


def test_a_domains_webmail_time_zone_is_chosen_from_the_list(staff_client, domain_a):
    from webmail_settings.models import DomainWebmail

    policy = DomainWebmail.objects.create(domain=domain_a)
    url = reverse("admin:webmail_settings_domainwebmail_change", args=[policy.pk])
    form = staff_client.get(url).context["adminform"].form
    assert 'value="Europe/Rome"' in str(form["time_zone"])  # a list, not a text box
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items() if v is not False}
    response = staff_client.post(url, {**data, "time_zone": "Bogus/Zone"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert DomainWebmail.objects.get(pk=policy.pk).time_zone == "UTC"
