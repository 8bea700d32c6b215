"""Forwarding loops are refused when saved, with the chain named: directly, through aliases,
over several hops, when an alias or "keep a copy" closes the circle, and across tenants
without showing the other tenant's addresses. (tests/mailstack shows what Postfix does.)"""

import html

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import EmailAccount

pytestmark = pytest.mark.usefixtures("memory_backend")


def forward(account, *targets, keep_copy=False):
    account.refresh_from_db()
    return services.account_update(
        account=account, values={"forward_to": list(targets), "forward_keep_copy": keep_copy}
    )


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as error:
        call(*args, **kwargs)
    return " ".join(error.value.messages)


@pytest.fixture
def abc(domain_a, make_account):
    return [make_account(domain_a, name) for name in ("ann", "ben", "cat")]


def test_two_accounts_forwarding_to_each_other_is_refused_on_the_settings_page(
    client_for, owner, abc
):
    ann, ben, _cat = abc
    client = client_for(owner)
    url = reverse("accounts:settings", args=[ann.pk, "forward"])
    assert client.post(url, {"forward_to": "ben@a.example"}).status_code == 302
    version = EmailAccount.objects.get(pk=ben.pk).desired_version

    response = client.post(
        reverse("accounts:settings", args=[ben.pk, "forward"]), {"forward_to": "ann@a.example"}
    )
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Forwarding loop: ben@a.example → ann@a.example → ben@a.example." in page
    ben.refresh_from_db()
    assert ben.forward_to == [] and ben.desired_version == version  # nothing half-saved


def test_a_copy_anywhere_in_the_circle_ends_it(abc):
    ann, ben, _cat = abc
    forward(ann, "ben@a.example", keep_copy=True)
    forward(ben, "ann@a.example")  # mail for ben lands in ann's mailbox and stops
    message = refused(forward, ann, "ben@a.example", keep_copy=False)
    assert "ann@a.example → ben@a.example → ann@a.example" in message


def test_several_hops_and_aliases_are_followed(abc):
    ann, ben, cat = abc
    services.alias_add(account=cat, address="sales@a.example")
    forward(ann, "ben@a.example")
    forward(ben, "sales@a.example", "someone@outside.test")
    message = refused(forward, cat, "ann@a.example")
    assert (
        "cat@a.example → ann@a.example → ben@a.example → sales@a.example (alias of "
        "cat@a.example)." in message
    )


def test_forwarding_to_an_own_alias_without_a_copy_is_a_loop(abc):
    ann, _ben, _cat = abc
    services.alias_add(account=ann, address="info@a.example")
    message = refused(forward, ann, "info@a.example")
    assert "ann@a.example → info@a.example (alias of ann@a.example)." in message
    forward(ann, "info@a.example", "x@outside.test", keep_copy=True)  # with a copy: fine


def test_an_alias_that_closes_the_circle_is_refused(abc):
    ann, ben, _cat = abc
    forward(ann, "help@a.example")  # not an address yet: Postfix would reject it, no loop
    forward(ben, "ann@a.example")
    message = refused(services.alias_add, account=ben, address="help@a.example")
    assert "ben@a.example → ann@a.example → help@a.example (alias of ben@a.example)" in message
    assert not ben.aliases.exists()


def test_turning_keep_a_copy_off_can_close_a_loop(abc):
    ann, ben, _cat = abc
    forward(ann, "ben@a.example")
    forward(ben, "ann@a.example", keep_copy=True)
    ben.refresh_from_db()
    message = refused(services.account_update, account=ben, values={"forward_keep_copy": False})
    assert "ben@a.example → ann@a.example → ben@a.example" in message


def test_the_new_account_wizard_checks_too(domain_a, make_account, abc):
    ann, _ben, _cat = abc
    forward(ann, "dan@a.example")
    message = refused(
        make_account, domain_a, "dan", forward_to=["ann@a.example"], forward_keep_copy=False
    )
    assert "dan@a.example → ann@a.example → dan@a.example" in message
    assert not EmailAccount.objects.filter(address="dan@a.example").exists()


def test_a_loop_across_tenants_does_not_show_the_other_tenants_addresses(
    abc, domain_b, make_account
):
    ann, _ben, _cat = abc
    bob = make_account(domain_b, "bob")
    forward(bob, "ann@a.example")
    message = refused(forward, ann, "bob@b.example")
    assert "ann@a.example → (an address of another organization) → ann@a.example" in message
    assert "bob@b.example" not in message
