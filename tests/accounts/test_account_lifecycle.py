"""Deactivate, reactivate, delete: who may, in which order, and what the user is told."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services, sync
from accounts.models import EmailAccount, User
from tempusmail.provisioning import mark_applied


def push(account) -> None:
    """What the worker does after a successful push (here without a worker)."""
    sync.account_push(account_id=account.pk)


def test_owner_deactivates_then_reactivates(client_for, owner, account_a, reload):
    client = client_for(owner)
    list_url = reverse("accounts:list", args=[account_a.domain_id])
    response = client.post(reverse("accounts:deactivate", args=[account_a.pk]))
    assert response.status_code == 302 and response["Location"] == list_url
    account = reload(account_a)
    assert not account.is_active and not account.user.is_active
    assert account.status == "updating"
    assert account.desired_version == account_a.desired_version + 1
    mark_applied(EmailAccount, pk=account.pk, version=account.desired_version)
    page = client.get(list_url).content.decode()
    assert "alice@a.example deactivated." in page
    assert 'data-status="offline"' in page and "Reactivate" in page and "Delete" in page

    response = client.post(reverse("accounts:reactivate", args=[account_a.pk]), follow=True)
    assert "alice@a.example reactivated." in response.content.decode()
    account = reload(account_a)
    assert account.is_active and account.user.is_active and account.status == "updating"


def test_deactivating_twice_is_refused_with_a_message(client_for, owner, account_a, reload):
    client = client_for(owner)
    client.post(reverse("accounts:deactivate", args=[account_a.pk]))
    version = reload(account_a).desired_version
    response = client.post(reverse("accounts:deactivate", args=[account_a.pk]), follow=True)
    assert "already deactivated" in response.content.decode()
    assert reload(account_a).desired_version == version


def test_delete_only_after_deactivate(client_for, owner, account_a, reload):
    client = client_for(owner)
    response = client.post(reverse("accounts:delete", args=[account_a.pk]), follow=True)
    assert "Deactivate the account before deleting it." in response.content.decode()
    account = reload(account_a)
    assert account.is_active and not account.deleting
    assert account.desired_version == account_a.desired_version


def test_the_confirmation_page_says_what_is_lost(client_for, owner, account_a, reload):
    services.account_deactivate(account=account_a)
    page = client_for(owner).get(reverse("accounts:delete", args=[account_a.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Delete alice@a.example?" in html
    assert "All its messages, settings and related data will be lost." in html
    assert "irreversible" in html
    assert reload(account_a).deleting is False  # a GET deletes nothing


def test_delete_shows_updating_until_the_backend_removed_it(
    client_for, owner, account_a, memory_backend, reload
):
    push(account_a)
    assert "alice@a.example" in memory_backend.accounts
    services.account_deactivate(account=reload(account_a))
    push(account_a)
    client = client_for(owner)
    response = client.post(reverse("accounts:delete", args=[account_a.pk]), follow=True)
    html = response.content.decode()
    assert "alice@a.example is being deleted." in html
    row_url = reverse("accounts:row", args=[account_a.domain_id, account_a.pk])
    row = client.get(row_url).content.decode()
    assert 'data-status="updating"' in row and f'hx-get="{row_url}"' in row
    assert "More" not in row  # nothing more to do with it
    assert "alice@a.example" in memory_backend.accounts

    push(account_a)  # the worker's turn
    assert "alice@a.example" not in memory_backend.accounts
    assert not EmailAccount.objects.filter(pk=account_a.pk).exists()
    assert not User.objects.filter(email="alice@a.example").exists()
    assert client.get(row_url).content == b""  # htmx swaps the row away
    page = client.get(reverse("accounts:list", args=[account_a.domain_id])).content.decode()
    assert f'id="account-{account_a.pk}"' not in page


def test_a_deactivated_account_still_counts_against_the_plan(domain_a, make_account):
    accounts = [make_account(domain_a, f"user{n}") for n in range(5)]  # the plan allows 5
    services.account_deactivate(account=accounts[0])
    with pytest.raises(ValidationError, match="at most 5 email accounts"):
        make_account(domain_a, "sixth")


def test_an_account_being_deleted_still_counts_until_it_is_gone(
    domain_a, make_account, memory_backend, reload
):
    accounts = [make_account(domain_a, f"user{n}") for n in range(5)]
    services.account_deactivate(account=accounts[0])
    services.account_delete(account=reload(accounts[0]))
    with pytest.raises(ValidationError, match="at most 5"):
        make_account(domain_a, "sixth")
    push(accounts[0])
    assert make_account(domain_a, "sixth").pk


def test_an_account_being_deleted_cannot_be_reactivated(client_for, owner, account_a, reload):
    services.account_deactivate(account=account_a)
    services.account_delete(account=reload(account_a))
    client_for(owner).post(reverse("accounts:reactivate", args=[account_a.pk]))
    account = reload(account_a)
    assert account.deleting and not account.is_active


# --- who may -------------------------------------------------------------------------------


def lifecycle_requests(account):
    return [
        ("post", reverse("accounts:deactivate", args=[account.pk])),
        ("post", reverse("accounts:reactivate", args=[account.pk])),
        ("get", reverse("accounts:delete", args=[account.pk])),
        ("post", reverse("accounts:delete", args=[account.pk])),
    ]


@pytest.mark.parametrize("who", ["operator", "viewer"])
def test_operators_and_viewers_may_not_deactivate_reactivate_or_delete(
    request, who, client_for, account_a, reload
):
    client = client_for(request.getfixturevalue(who))
    services.account_deactivate(account=account_a)  # so that reactivate and delete apply
    version = reload(account_a).desired_version
    for method, target in lifecycle_requests(account_a):
        response = getattr(client, method)(target)
        assert response.status_code == 403, (who, method, target)
        assert "not authorized" in response.content.decode()
    account = reload(account_a)
    assert not account.is_active and not account.deleting and account.desired_version == version
    page = client.get(reverse("accounts:list", args=[account_a.domain_id])).content.decode()
    assert reverse("accounts:reactivate", args=[account_a.pk]) not in page


def test_another_tenant_gets_404(client_for, admin_b, account_a, reload):
    client = client_for(admin_b)
    for method, target in lifecycle_requests(account_a):
        response = getattr(client, method)(target)
        assert response.status_code == 404, (method, target)
        assert "alice" not in response.content.decode()
    account = reload(account_a)
    assert account.is_active and not account.deleting


def test_anonymous_is_sent_to_login(client, account_a, reload):
    for method, target in lifecycle_requests(account_a):
        response = getattr(client, method)(target)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert reload(account_a).is_active


def test_lifecycle_needs_post(client_for, owner, account_a, reload):
    client = client_for(owner)
    assert client.get(reverse("accounts:deactivate", args=[account_a.pk])).status_code == 405
    assert reload(account_a).is_active
