"""The pipeline with a real Celery worker process: Updating → Online → Offline → deleted."""

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import EmailAccount
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
    assert account.pk in services.reconcile()
    wait_until(lambda: status(account.pk) == "online", what="dave Online after reconcile")
