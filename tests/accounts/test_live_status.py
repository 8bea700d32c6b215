"""After a save the page follows the mail system by itself: the settings page's badge and the
portal's "being applied" notice turn into Online / a confirmation once the push is applied."""

from django.urls import reverse

from accounts import services
from accounts.models import EmailAccount


def applied(account):
    EmailAccount.objects.filter(pk=account.pk).update(applied_version=10**6)


def test_the_settings_badge_polls_until_online(client_for, owner, account_a):
    client = client_for(owner)
    page = client.get(reverse("accounts:settings", args=[account_a.pk])).content.decode()
    status_url = reverse("accounts:status", args=[account_a.pk])
    assert f'id="status-badge" class="badge badge-updating" hx-get="{status_url}"' in page
    assert "Updating" in client.get(status_url).content.decode()
    applied(account_a)
    badge = client.get(status_url).content.decode()
    assert "badge-online" in badge and "Online" in badge and "hx-get" not in badge


def test_another_tenant_polls_nothing(client_for, admin_b, account_a):
    status_url = reverse("accounts:status", args=[account_a.pk])
    assert client_for(admin_b).get(status_url).status_code == 404


def test_an_active_account_is_not_offered_for_deletion(client_for, owner, account_a):
    client = client_for(owner)
    response = client.get(reverse("accounts:delete", args=[account_a.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:settings", args=[account_a.pk])
    assert "Deactivate the account before deleting it." in response.content.decode()
    services.account_deactivate(account=account_a)
    page = client.get(reverse("accounts:delete", args=[account_a.pk]))
    assert page.status_code == 200 and account_a.address in page.content.decode()


def test_the_portal_notice_turns_into_a_confirmation(client, account_a):
    client.force_login(account_a.user)
    page = client.get(reverse("portal:autoresponder")).content.decode()
    assert 'id="apply-notice"' in page and "being applied" in page
    assert 'hx-get="/portal/applied/"' in page
    applied(account_a)
    notice = client.get(reverse("portal:apply_status")).content.decode()
    assert "Your changes are active on the mail server." in notice and "hx-get" not in notice
    page = client.get(reverse("portal:autoresponder")).content.decode()
    assert 'id="apply-notice"' not in page  # a later visit shows nothing
