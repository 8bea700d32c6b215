"""My profile (issue 15): admins choose the panel's language and time zone; end users never
see the admin navigation, also on the pages they share with admins (2FA, password, errors)."""

from django.urls import reverse

from accounts.models import User
from security.models import AuditEvent

PROFILE = reverse("security:profile")


def test_an_admin_sets_language_and_time_zone_and_the_panel_follows(client_for, operator):
    client = client_for(operator)
    page = client.get(PROFILE).content.decode()
    assert 'href="/security/profile/"' in page  # in the top bar
    response = client.post(
        PROFILE,
        {"first_name": "Olga", "last_name": "Op", "language": "it", "time_zone": "Europe/Rome"},
        follow=True,
    )
    assert '<html lang="it">' in response.content.decode()  # the next page is in Italian
    user = User.objects.get(pk=operator.pk)
    assert (user.first_name, user.language, user.time_zone) == ("Olga", "it", "Europe/Rome")
    assert client.get(reverse("domains:list")).headers["Content-Language"] == "it"
    assert AuditEvent.objects.filter(action="profile.update").exists()


def test_bad_choices_are_refused_and_nothing_changes(client_for, owner):
    client = client_for(owner)
    response = client.post(
        PROFILE, {"first_name": "", "last_name": "", "language": "xx", "time_zone": "Mars/Base"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    owner.refresh_from_db()
    assert (owner.language, owner.time_zone) == ("en", "UTC")


def test_end_users_see_their_own_navigation_on_shared_pages(client, account_a):
    client.force_login(account_a.user)
    for url in (reverse("security:2fa"), reverse("security:password"), "/no-such-page/"):
        html = client.get(url).content.decode()
        nav = html.split('<nav class="topnav">')[1].split("</nav>")[0]
        assert "My account" in nav, url
        for admin_link in ("Domains", "Organization", "Audit log", "My profile"):
            assert admin_link not in nav, (url, admin_link)


def test_an_admin_with_a_mailbox_renames_the_login_and_the_mailbox(client_for, org_a, account_a):
    from accounts.models import EmailAccount
    from domains.models import Membership, Role

    Membership.objects.create(user=account_a.user, organization=org_a, role=Role.OWNER)
    client = client_for(account_a.user)
    response = client.post(
        PROFILE,
        {"first_name": "Alicia", "last_name": "Nuova", "language": "it", "time_zone": "UTC"},
    )
    assert response.status_code == 302
    account = EmailAccount.objects.select_related("user").get(pk=account_a.pk)
    assert (account.first_name, account.last_name) == ("Alicia", "Nuova")  # address book
    assert (account.user.first_name, account.user.language) == ("Alicia", "it")
