"""The pipeline with a real Celery worker process: Updating → Online → Offline → deleted."""

import pytest
from django.urls import reverse

from accounts import tasks
from accounts.models import EmailAccount, User
from tests.conftest import wait_until

pytestmark = pytest.mark.worker


def status(pk):
    account = EmailAccount.objects.filter(pk=pk).first()
    return account.status if account else None


def test_lifecycle_with_a_real_worker(start_worker, client_for, owner, domain_a, make_account):
    account = make_account(domain_a, "carol")
    assert status(account.pk) == "updating"
    start_worker()
    wait_until(lambda: status(account.pk) == "online", what="carol Online")

    client = client_for(owner)
    response = client.post(reverse("accounts:deactivate", args=[account.pk]))
    assert response.status_code == 302
    assert status(account.pk) == "updating"
    wait_until(lambda: status(account.pk) == "offline", what="carol Offline")

    response = client.post(reverse("accounts:delete", args=[account.pk]))
    assert status(account.pk) == "updating"
    wait_until(lambda: status(account.pk) is None, what="carol deleted")
    page = client.get(reverse("accounts:list", args=[domain_a.pk]))
    assert f'id="account-{account.pk}"' not in page.content.decode()


def test_broker_down_at_save_time_is_healed_by_the_reconciler(
    start_worker, domain_a, make_account, settings
):
    account = make_account(domain_a, "dave")  # enqueued on commit, then lost:
    from tempusmail.celery import app

    app.control.purge()
    EmailAccount.objects.filter(pk=account.pk).update(
        changed_at=account.changed_at.replace(year=2020)
    )
    start_worker()
    assert status(account.pk) == "updating"
    assert account.pk in tasks.reconcile()
    wait_until(lambda: status(account.pk) == "online", what="dave Online after reconcile")


def test_a_deleted_row_shows_updating_until_the_worker_removed_it(
    start_worker, client_for, owner, domain_a, make_account
):
    account = make_account(domain_a, "erin")
    client = client_for(owner)
    client.post(reverse("accounts:deactivate", args=[account.pk]))
    response = client.post(reverse("accounts:delete", args=[account.pk]), follow=True)
    assert "erin@a.example is being deleted." in response.content.decode()

    row_url = reverse("accounts:row", args=[domain_a.pk, account.pk])
    page = client.get(reverse("accounts:list", args=[domain_a.pk])).content.decode()
    row = page[page.index(f'<tr id="account-{account.pk}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-status="updating"' in row and f'hx-get="{row_url}"' in row
    assert 'hx-trigger="every 2s"' in row

    start_worker()  # the mail system's turn: the row goes once the mailbox is purged
    wait_until(lambda: client.get(row_url).content == b"", what="the erin row emptied")
    assert status(account.pk) is None
    assert not User.objects.filter(email="erin@a.example").exists()
    page = client.get(reverse("accounts:list", args=[domain_a.pk])).content.decode()
    assert "erin@a.example" not in page and "No email accounts yet." in page
