"""CSV import where the provider sells subscriptions: a new account's row names its
subscription (its first period charged when the row runs, as in the panel's wizard); an
existing account's subscription is changed in the panel only."""

import pytest

from accounts.models import EmailAccount
from tests.accounts.test_account_import import errors_of, preview_of, read_csv, start

from .conftest import balance, fund

pytestmark = pytest.mark.django_db

FILE = (
    "address,password,subscription\n"
    "anna,Tramonto-Lago-42!,pro\n"  # any case
    "bruno,Tramonto-Lago-42!,\n"
    "carla,Tramonto-Lago-42!,Gold\n"
)


def test_new_accounts_name_their_subscription_and_pay_for_it(
    client_for, owner, org_a, domain_a, subscriptions, run_tasks
):
    from django.urls import reverse

    client = client_for(owner)
    job, page = preview_of(client, domain_a, FILE)
    assert "1 to create" in page and "2 with errors" in page
    assert errors_of(job) == {
        (3, "subscription", "Choose one of the subscriptions: Basic, Pro, Business."),
        (
            4,
            "subscription",
            "Unknown subscription Gold: the subscriptions are Basic, Pro, Business.",
        ),
    }
    with run_tasks():
        start(client, domain_a, job)  # no credit yet: refused as the wizard refuses it
    job.refresh_from_db()
    assert (job.done, job.failed) == (0, 1)
    assert any("Top up" in message for _l, _c, message in errors_of(job))
    assert not EmailAccount.objects.exists()

    fund(org_a, "10.00")
    job, _page = preview_of(client, domain_a, FILE)
    with run_tasks():
        start(client, domain_a, job)
    anna = EmailAccount.objects.select_related("subscription").get(address="anna@a.example")
    assert (anna.subscription.name, anna.quota_mb) == ("Pro", 5120)
    assert balance(org_a) < 10

    rows = read_csv(client.get(reverse("accounts:export", args=[domain_a.pk])))
    assert rows[0][-1] == "subscription" and rows[1][-1] == "Pro"
    _job, page = preview_of(client, domain_a, "address,subscription\nanna,Pro\n")
    assert "1 unchanged" in page
    job, page = preview_of(client, domain_a, "address,subscription\nanna,Business\n")
    assert errors_of(job) == {(2, "subscription", "Change an account's subscription in the panel.")}
