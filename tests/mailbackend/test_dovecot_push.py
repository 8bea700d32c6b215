"""The worker side (accounts.sync, domains.sync) through the Dovecot adapter on a real SQLite
mail directory: a push built before a newer one but landing after it never wins, in the
directory or in the panel's applied version."""

from accounts import services, sync
from accounts.models import EmailAccount
from domains import sync as domain_sync
from domains.models import Domain
from tempusmail.mailbackend import get_backend
from tests.conftest import make_domain


def land_late(monkeypatch, method: str, meanwhile) -> list[int]:
    """The first push through `method` is slow: `meanwhile()` runs after its state was built,
    before it reaches the directory."""
    backend = get_backend()
    original = getattr(backend, method)
    built: list[int] = []

    def slow(pushed):  # a DomainState, or the AccountStates of one batch
        if not built:
            built.append((pushed[0] if isinstance(pushed, list) else pushed).version)
            meanwhile()
        return original(pushed)

    monkeypatch.setattr(backend, method, slow)
    return built


def test_domain_push_writes_the_desired_version_and_records_it(directory, domain_a, reload):
    v = reload(domain_a).desired_version  # created, then verified: each a version
    domain_sync.domain_push(domain_id=domain_a.pk)
    assert directory.domain("a.example") == (1, v)
    assert reload(domain_a).applied_version == v


def test_a_stale_domain_push_never_wins(directory, monkeypatch, domain_a, reload):
    def newer_version_pushed_first():
        Domain.objects.filter(pk=domain_a.pk).update(**domain_a.bump_fields())
        domain_sync.domain_push(domain_id=domain_a.pk)  # v2 lands first

    v = reload(domain_a).desired_version
    built = land_late(monkeypatch, "apply_domain", newer_version_pushed_first)
    domain_sync.domain_push(domain_id=domain_a.pk)  # built v, lands after v + 1
    assert built == [v]
    assert directory.domain("a.example") == (1, v + 1)
    domain = reload(domain_a)
    assert (domain.desired_version, domain.applied_version) == (v + 1, v + 1)


def test_domain_remove_only_for_a_domain_the_panel_no_longer_has(directory, domain_a, reload):
    domain_sync.domain_push(domain_id=domain_a.pk)
    domain_sync.domain_remove(name="a.example")  # still in the panel: kept
    assert directory.domain("a.example") == (1, reload(domain_a).desired_version)
    Domain.objects.filter(pk=domain_a.pk).delete()
    domain_sync.domain_remove(name="a.example")
    assert directory.domain("a.example") is None


def test_a_stale_account_push_never_wins(directory, monkeypatch, account_a, reload):
    def newer_change_pushed_first():
        services.account_update(account=reload(account_a), values={"quota_mb": 5120})
        sync.account_push(account_id=account_a.pk)  # v2 lands first

    built = land_late(monkeypatch, "apply_accounts", newer_change_pushed_first)
    sync.account_push(account_id=account_a.pk)  # built v1, lands after v2
    assert built == [1]
    row = directory.mailbox("alice@a.example")
    assert (row["version"], row["quota_bytes"]) == (2, 5120 * 1024 * 1024)
    account = reload(account_a)
    assert (account.desired_version, account.applied_version) == (2, 2)


def test_a_stale_push_does_not_bring_back_a_deleted_mailbox(directory, monkeypatch, account_a):
    def deactivated_and_deleted_meanwhile():
        services.account_deactivate(account=EmailAccount.objects.get(pk=account_a.pk))
        sync.account_push(account_id=account_a.pk)
        services.account_delete(account=EmailAccount.objects.get(pk=account_a.pk))
        sync.account_push(account_id=account_a.pk)  # mailbox removed, row gone

    sync.account_push(account_id=account_a.pk)
    land_late(monkeypatch, "apply_accounts", deactivated_and_deleted_meanwhile)
    services.account_update(
        account=EmailAccount.objects.get(pk=account_a.pk), values={"quota_mb": 5120}
    )
    sync.account_push(account_id=account_a.pk)  # v2 (active) built before the delete

    assert not EmailAccount.objects.filter(pk=account_a.pk).exists()
    assert directory.mailbox("alice@a.example") is None
    assert not get_backend().home("alice@a.example").exists()


def test_a_pending_or_missing_domain_pushes_nothing(directory, org_a):
    pending = make_domain(org_a, "pending.example", verified=False)
    domain_sync.domain_push(domain_id=pending.pk)
    domain_sync.domain_push(domain_id=10**9)
    assert directory.query("SELECT name FROM domain") == []


def test_domain_remove_looks_only_at_verified_claims_on_that_name(
    directory, org_a, org_b, domain_a
):
    """Another verified domain (a.example) or a pending claim on the same name by another
    tenant keeps nothing: that claim never reached the mail system."""
    gone = make_domain(org_a, "gone.example")
    domain_sync.domain_push(domain_id=gone.pk)
    Domain.objects.filter(pk=gone.pk).delete()
    make_domain(org_b, "gone.example", verified=False)
    domain_sync.domain_remove(name="gone.example")
    assert directory.domain("gone.example") is None
