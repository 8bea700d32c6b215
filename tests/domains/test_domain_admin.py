"""The Django admin for domains, organizations, plans and memberships."""

from django.urls import reverse


def test_domains_by_name_or_organization(staff_client, domain_a, domain_b, make_account):
    make_account(domain_a, "alice")
    url = reverse("admin:domains_domain_changelist")
    html = staff_client.get(url, {"q": '"Org B"'}).content.decode()
    assert "b.example" in html and "a.example" not in html
    html = staff_client.get(url, {"q": "a.example"}).content.decode()
    assert "a.example" in html and "b.example" not in html


def test_organizations_show_their_counts(staff_client, domain_a, make_account, org_b):
    make_account(domain_a, "alice")
    make_account(domain_a, "bruno")
    html = staff_client.get(reverse("admin:domains_organization_changelist")).content.decode()
    assert "Org A" in html and "Org B" in html
    assert '<td class="field-accounts_count">2</td>' in html


def test_memberships_filter_by_role(staff_client, owner, viewer, admin_b):
    url = reverse("admin:domains_membership_changelist")
    html = staff_client.get(url, {"role__exact": "viewer"}).content.decode()
    assert "viewer@a.test" in html and "owner@a.test" not in html
    html = staff_client.get(url, {"q": "Org B"}).content.decode()
    assert "admin@b.test" in html and "owner@a.test" not in html
