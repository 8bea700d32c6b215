"""Domains › domain › Email accounts: who may see it, what a row shows, the live badge."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import EmailAccount


@pytest.mark.parametrize("who", ["owner", "operator", "viewer"])
def test_members_of_the_tenant_see_the_list(request, who, client_for, account_a, account_b):
    client = client_for(request.getfixturevalue(who))
    page = client.get(reverse("accounts:list", args=[account_a.domain_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "alice@a.example" in html
    assert "bob@b.example" not in html
    assert "Email accounts" in html and "a.example" in html  # breadcrumbs and tabs
    # Only writers get the "+ Email account" button; only the owner the "More" menu.
    assert (reverse("accounts:create", args=[account_a.domain_id]) in html) == (who != "viewer")
    assert (reverse("accounts:deactivate", args=[account_a.pk]) in html) == (who == "owner")


def test_another_tenants_list_and_row_are_404(client_for, admin_b, account_a, account_b):
    client = client_for(admin_b)
    for url in (
        reverse("accounts:list", args=[account_a.domain_id]),
        reverse("accounts:row", args=[account_a.domain_id, account_a.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "alice" not in response.content.decode()
    # Their own domain in the URL with our account's id: an empty row, nothing of ours.
    response = client.get(reverse("accounts:row", args=[account_b.domain_id, account_a.pk]))
    assert response.status_code == 200 and response.content == b""


def test_anonymous_is_sent_to_login(client, account_a):
    for url in (
        reverse("accounts:list", args=[account_a.domain_id]),
        reverse("accounts:row", args=[account_a.domain_id, account_a.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_row_shows_address_usage_last_access_and_sent(client_for, owner, account_a):
    EmailAccount.objects.filter(pk=account_a.pk).update(
        storage_used_bytes=3 * 1024 * 1024, sent_24h=42
    )
    html = client_for(owner).get(reverse("accounts:list", args=[account_a.domain_id])).content
    html = html.decode()
    assert "alice@a.example" in html
    assert "3.0\xa0MB" in html
    assert ">42<" in html
    assert "Never" in html  # no access yet


def test_live_badge_polls_while_updating_and_stops_once_applied(
    client_for, owner, account_a, applied
):
    client = client_for(owner)
    url = reverse("accounts:row", args=[account_a.domain_id, account_a.pk])

    row = client.get(url).content.decode()
    assert 'data-status="updating"' in row and "Updating" in row
    assert f'hx-get="{url}"' in row and 'hx-trigger="every 2s"' in row

    applied(account_a)
    row = client.get(url).content.decode()
    assert 'data-status="online"' in row and "Online" in row
    assert "hx-get" not in row and "hx-trigger" not in row

    services.account_deactivate(account=account_a)
    row = client.get(url).content.decode()
    assert "Updating" in row and "hx-get" in row
    applied(account_a)
    row = client.get(url).content.decode()
    assert 'data-status="offline"' in row and "Offline" in row and "hx-get" not in row


def test_the_list_polls_only_rows_that_are_updating(
    client_for, owner, domain_a, make_account, applied
):
    done = applied(make_account(domain_a, "done"))
    waiting = make_account(domain_a, "waiting")
    html = client_for(owner).get(reverse("accounts:list", args=[domain_a.pk])).content.decode()
    assert f'hx-get="{reverse("accounts:row", args=[domain_a.pk, waiting.pk])}"' in html
    assert reverse("accounts:row", args=[domain_a.pk, done.pk]) not in html


def test_search_by_address_or_name_and_sort(client_for, owner, domain_a, make_account):
    for local in ("anna", "bruno", "carla"):
        make_account(domain_a, local)
    EmailAccount.objects.filter(local_part="bruno").update(last_name="Zeta", sent_24h=7)
    client = client_for(owner)
    url = reverse("accounts:list", args=[domain_a.pk])

    html = client.get(url, {"q": "carl"}).content.decode()
    assert "carla@a.example" in html and "anna@a.example" not in html
    html = client.get(url, {"q": "zeta"}).content.decode()
    assert "bruno@a.example" in html and "carla@a.example" not in html
    html = client.get(url, {"q": "nobody"}).content.decode()
    assert "No email account matches your search." in html

    html = client.get(url, {"sort": "-address"}).content.decode()
    assert html.index("carla@") < html.index("bruno@") < html.index("anna@")
    html = client.get(url, {"sort": "-sent"}).content.decode()
    assert html.index("bruno@") < html.index("anna@")


def test_the_address_column_sorts_by_the_name_before_the_at(
    client_for, owner, domain_a, plan, make_account
):
    """ "ann" before "ann.b" and "ann1", as a person reads them (by whole address, the @
    sorts after "." and digits and "ann" came last)."""
    plan.max_accounts = 10
    plan.save()
    for local in ("ann1", "ann.b", "ann"):
        make_account(domain_a, local)
    html = client_for(owner).get(reverse("accounts:list", args=[domain_a.pk])).content.decode()
    assert html.index(">ann@a.example") < html.index(">ann.b@") < html.index(">ann1@")


def test_pages_of_fifty(client_for, owner, domain_a, plan, make_account):
    plan.max_accounts = 60
    plan.save(update_fields=["max_accounts"])
    for n in range(52):
        make_account(domain_a, f"user{n:02d}")
    client = client_for(owner)
    url = reverse("accounts:list", args=[domain_a.pk])
    first = client.get(url).content.decode()
    assert first.count('<tr id="account-') == 50
    assert "Page 1 of 2" in first and "52 email accounts" in first
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count('<tr id="account-') == 2
    assert "user51@a.example" in second


def _row_actions(html: str, account) -> tuple[str | None, list[tuple[str, str]]]:
    """The page's one row-actions form's CSRF token, and the row's buttons that post through
    it: (formaction, label). What a browser submits without JavaScript."""
    form = re.search(r'<form id="row-actions" method="post"[^>]*>(.*?)</form>', html, re.S)
    token = form and re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(1))
    row = re.search(rf'<tr id="account-{account.pk}".*?</tr>', html, re.S).group(0)
    buttons = re.findall(
        r'<button type="submit" form="row-actions" formaction="([^"]+)">([^<]+)</button>', row
    )
    return (token.group(1) if token else None), buttons


@pytest.mark.parametrize("who", ["owner", "operator", "viewer"])
def test_row_actions_post_with_the_pages_csrf_token(request, who, domain_a, make_account, applied):
    """The "More" menu's buttons post through one form a page that carries the CSRF token:
    the owner deactivates, then reactivates, with a client that checks CSRF as a browser's
    request is checked; operators and viewers get neither the menu nor the form."""
    account = applied(make_account(domain_a, "alice"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(request.getfixturevalue(who))
    url = reverse("accounts:list", args=[domain_a.pk])
    token, buttons = _row_actions(client.get(url).content.decode(), account)
    if who != "owner":
        assert token is None and buttons == []
        return
    assert buttons == [(reverse("accounts:deactivate", args=[account.pk]), "Deactivate")]
    assert client.post(buttons[0][0]).status_code == 403  # without the form's token
    response = client.post(buttons[0][0], {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert not EmailAccount.objects.get(pk=account.pk).is_active

    applied(account)
    html = client.get(url).content.decode()
    token, buttons = _row_actions(html, account)
    assert buttons == [(reverse("accounts:reactivate", args=[account.pk]), "Reactivate")]
    assert f'<a href="{reverse("accounts:delete", args=[account.pk])}" class="danger">' in html
    # The live row (swapped into this page by htmx) posts through the same form.
    live = client.get(reverse("accounts:row", args=[domain_a.pk, account.pk])).content.decode()
    assert f'form="row-actions" formaction="{buttons[0][0]}"' in live
    client.post(buttons[0][0], {"csrfmiddlewaretoken": token})
    assert EmailAccount.objects.get(pk=account.pk).is_active


def test_row_text_is_translated_and_escaped(client_for, owner, domain_a, make_account, applied):
    """The rows' strings come from gettext (the Jinja2 row template holds none): Italian
    labels; a name with markup is shown as text."""
    account = applied(make_account(domain_a, "alice"))
    EmailAccount.objects.filter(pk=account.pk).update(
        first_name="<b>Al</b>", storage_used_bytes=2 * 1024**3, usage_stale=True
    )
    owner.language = "it"
    owner.save(update_fields=["language"])
    html = client_for(owner).get(reverse("accounts:list", args=[domain_a.pk])).content.decode()
    row = re.search(rf'<tr id="account-{account.pk}".*?</tr>', html, re.S).group(0)
    assert "&lt;b&gt;Al&lt;/b&gt;" in row and "<b>Al" not in row
    assert 'aria-label="Seleziona alice"' in row and "Mai" in row and "Disattiva" in row
    assert "(non aggiornati)" in row and "2,0\xa0GB" in row


def _options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"', select)


def test_the_bulk_form_is_each_domains_roles_and_languages_own(
    client_for, owner, operator, org_a, domain_a
):
    """The blank bulk form is rendered once a process for each language, role, storage
    sizes and services (accounts.forms.blank_bulk_form): no page gets another's."""
    from tests.conftest import make_domain

    small = make_domain(org_a, "small.example")  # other sizes, the same services
    small.storage_options_mb = [2048]
    small.save(update_fields=["storage_options_mb"])
    few = make_domain(org_a, "few.example")  # the same sizes, other services
    few.services = ["imap", "smtp"]
    few.save(update_fields=["services"])
    owners = client_for(owner)
    pages = {
        domain.name: owners.get(reverse("accounts:list", args=[domain.pk])).content.decode()
        for domain in (domain_a, small, few)
    }
    services = r'name="services" value="([^"]+)"'
    assert _options(pages["a.example"], "quota_mb") == ["", "1024", "5120", "10240"]
    assert _options(pages["small.example"], "quota_mb") == ["", "2048"]
    assert _options(pages["few.example"], "quota_mb") == ["", "1024", "5120", "10240"]
    assert len(re.findall(services, pages["a.example"])) > 2
    assert re.findall(services, pages["few.example"]) == ["imap", "smtp"]
    assert "deactivate" in _options(pages["a.example"], "action")

    operators = client_for(operator)  # may not deactivate: not offered
    page = operators.get(reverse("accounts:list", args=[domain_a.pk])).content.decode()
    assert _options(page, "action") == ["", "storage", "services", "send_limit", "resync"]

    owner.language = "it"
    owner.save(update_fields=["language"])
    italian = client_for(owner).get(reverse("accounts:list", args=[domain_a.pk])).content
    assert "Azione" in italian.decode() and "Spazio di archiviazione" in italian.decode()
    assert "Storage capacity" not in italian.decode()
