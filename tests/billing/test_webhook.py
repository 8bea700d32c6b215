"""The payment provider's webhook: HMAC-signed, recent, idempotent per payment id. A forged,
stale or replayed request gets a clear refusal and changes nothing."""

import json
import time
from decimal import Decimal

import pytest
from django.urls import reverse

from domains.billing import sign_webhook
from domains.models import CreditEntry

from .conftest import balance

URL = reverse("organization:payment_webhook")
SECRET = "whsec-test-0123456789"


@pytest.fixture(autouse=True)
def secret(settings):
    settings.BILLING_WEBHOOK_SECRET = SECRET
    settings.BILLING_WEBHOOK_TOLERANCE = 300


def payload(org, **changes) -> bytes:
    data = {"payment_id": "pay_001", "organization": org.pk, "amount": "20.00", "currency": "EUR"}
    return json.dumps({**data, **changes}).encode()


def post(client, body: bytes, signature: str | None = None):
    return client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_TEMPUSMAIL_SIGNATURE=sign_webhook(body, secret=SECRET)
        if signature is None
        else signature,
    )


def test_a_signed_payment_tops_up_once(client, org_a):
    body = payload(org_a)
    response = post(client, body)
    assert response.status_code == 200
    assert response.json() == {"status": "recorded", "organization": org_a.pk, "balance": "20.00"}
    assert balance(org_a) == Decimal("20.00")
    entry = CreditEntry.objects.get(organization=org_a)
    assert (entry.kind, entry.amount, entry.description) == (
        "topup",
        Decimal("20.00"),
        "Payment pay_001",
    )


def test_a_replayed_payment_changes_nothing(client, org_a):
    body = payload(org_a)
    signature = sign_webhook(body, secret=SECRET)
    assert post(client, body, signature).json()["status"] == "recorded"
    again = post(client, body, signature)  # the very same request, sent again
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert balance(org_a) == Decimal("20.00")
    assert CreditEntry.objects.count() == 1


def test_a_payment_id_reused_with_another_amount_is_a_conflict(client, org_a, org_b):
    post(client, payload(org_a))
    assert post(client, payload(org_a, amount="999.00")).status_code == 409
    assert post(client, payload(org_b)).status_code == 409
    assert balance(org_a) == Decimal("20.00") and balance(org_b) == Decimal("0.00")


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "t=abc,v1=00",
        f"t={int(time.time())},v1={'0' * 64}",
        sign_webhook(b"another body", secret=SECRET),
    ],
)
def test_forged_signatures_are_refused(client, org_a, signature):
    response = post(client, payload(org_a), signature)
    assert response.status_code == 401
    assert "signature" in response.json()["error"]
    assert balance(org_a) == Decimal("0.00") and not CreditEntry.objects.exists()


def test_a_body_signed_with_another_secret_is_refused(client, org_a):
    body = payload(org_a)
    response = post(client, body, sign_webhook(body, secret="not-the-secret"))
    assert response.status_code == 401
    assert balance(org_a) == Decimal("0.00")


def test_an_old_replay_is_refused_by_its_timestamp(client, org_a):
    body = payload(org_a, payment_id="pay_old")
    stale = sign_webhook(body, secret=SECRET, timestamp=int(time.time()) - 301)
    response = post(client, body, stale)
    assert response.status_code == 401
    assert "window" in response.json()["error"]
    assert not CreditEntry.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": "-5.00"}, "positive"),
        ({"amount": "0.00"}, "positive"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.234"}, "two decimals"),
        ({"amount": 20}, "string"),
        ({"currency": "USD"}, "EUR"),
        ({"payment_id": ""}, "payment_id"),
        ({"organization": "1"}, "organization"),
        ({"organization": 10**9}, "unknown organization"),
    ],
)
def test_bad_payloads_are_refused(client, org_a, changes, message):
    response = post(client, payload(org_a, **changes))
    assert response.status_code in (400, 404)
    assert message in response.json()["error"]
    assert not CreditEntry.objects.exists()


def test_not_json_is_refused(client, org_a):
    response = post(client, b"not json")
    assert response.status_code == 400


def test_without_a_configured_secret_everything_is_refused(client, org_a, settings):
    settings.BILLING_WEBHOOK_SECRET = ""
    response = post(client, payload(org_a), sign_webhook(payload(org_a), secret=""))
    assert response.status_code == 503
    assert not CreditEntry.objects.exists()


def test_only_post(client):
    assert client.get(URL).status_code == 405


def test_a_form_post_is_refused_without_touching_the_credit(client, org_a):
    body = payload(org_a)
    response = client.post(
        URL,
        {"payment": body.decode()},
        HTTP_X_TEMPUSMAIL_SIGNATURE=sign_webhook(body, secret=SECRET),
    )
    assert response.status_code == 415
    assert response.json() == {"error": "Send the payment as application/json."}
    assert balance(org_a) == Decimal("0.00")
