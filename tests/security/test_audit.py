"""The audit log: who, from where, what, which fields — never a secret; per organization."""

from security.models import AuditEvent


def test_panel_changes_are_audited_with_actor_ip_and_fields(client_for, owner, account_a):
    client = client_for(owner)
    client.post(
        f"/accounts/{account_a.pk}/forward/",
        {"forward_to": "someone@else.test", "forward_keep_copy": "on"},
        REMOTE_ADDR="198.51.100.4",
    )
    client.post(
        f"/accounts/{account_a.pk}/password/",
        {"password": "Quite-Secret-Pass-1"},
        REMOTE_ADDR="198.51.100.4",
    )
    update = AuditEvent.objects.get(action="account.update")
    assert update.actor == owner and update.ip == "198.51.100.4" and update.via == "web"
    assert update.fields == ["forward_to"]
    assert update.organization_id == account_a.organization_id
    assert update.object_repr == account_a.address
    password = AuditEvent.objects.get(action="account.password")
    assert password.fields == []
    for event in AuditEvent.objects.all():
        text = repr(event.__dict__)
        assert "Quite-Secret" not in text and "argon2" not in text


def test_audit_page_filters_and_is_per_organization(
    client_for, owner, viewer, admin_b, account_a, account_b, domain_a
):
    client = client_for(owner)
    client.post(
        f"/domains/{domain_a.pk}/settings/",
        {
            "services": domain_a.services,
            "storage_options_mb": domain_a.storage_options_mb,
            "default_daily_send_limit": 321,
        },
    )
    page = client.get("/security/audit/").content.decode()
    assert "domain.update" in page and account_a.address in page
    assert account_b.address not in page
    filtered = client.get("/security/audit/", {"q": "a.example", "person": "nobody"})
    assert "domain.update" not in filtered.content.decode()
    by_person = client.get("/security/audit/", {"person": "owner@a"}).content.decode()
    assert "domain.update" in by_person and "account.create" not in by_person
    dated = client.get("/security/audit/", {"start": "2000-01-01", "end": "2000-01-02"})
    assert "domain.update" not in dated.content.decode()
    # another organization's id in the query string is a 404
    assert client.get("/security/audit/", {"org": account_b.organization_id}).status_code == 404
    # viewers do not see the audit log (it shows people's addresses and IPs)
    assert client_for(viewer).get("/security/audit/").status_code == 404


def test_admin_shows_audit_read_only(client, db, owner, account_a):
    from accounts.models import User

    staff = User.objects.create_superuser("root@provider.test", "x")
    client.force_login(staff)
    listing = client.get("/admin/security/auditevent/")
    assert listing.status_code == 200 and account_a.address in listing.content.decode()
    event = AuditEvent.objects.first()
    assert client.post(f"/admin/security/auditevent/{event.pk}/delete/").status_code == 403
    assert client.get("/admin/security/auditevent/add/").status_code == 403


def test_audit_pages_keep_the_filter(client_for, owner, domain_a, make_account):
    from tempusmail.audit import audit

    for i in range(60):
        audit(action="test.event", obj=domain_a, user=owner)
    page = client_for(owner).get("/security/audit/", {"person": "owner"}).content.decode()
    assert "person=owner" in page and "page=2" in page
