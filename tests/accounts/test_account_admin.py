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
