"""manage.py verify_backend on a real SQLite mail directory (and the sending limits in Redis):
every kind of drift is reported with the account and what differs, exit 1; --repair
re-enqueues exactly the drifted accounts; a clean directory says "no drift"."""

import io
import os

import pytest
import redis
from django.core.management import call_command

from accounts import services, sync
from accounts.models import EmailAccount
from tempusmail.policy import store
from tests.conftest import need

POLICY_REDIS = "redis://127.0.0.1:6379/11"  # its own database: the cache's (14) is flushed


def redis_up() -> bool:
    try:
        return redis.Redis.from_url(POLICY_REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def verify(*args) -> tuple[int, str]:
    """The rows only: no Dovecot reads this directory (the mail-stack tests ask the servers)."""
    out = io.StringIO()
    try:
        call_command("verify_backend", "--rows-only", *args, stdout=out, stderr=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def pushed(directory, domain_a, make_account):
    """An account with an alias and forwards, pushed: the directory matches the panel."""
    account = make_account(domain_a, "drift", forward_to=["far@elsewhere.test"])
    services.alias_add(account=account, address="sales@a.example")
    sync.account_push(account_id=account.pk)
    assert verify() == (0, "no drift\n")
    return EmailAccount.objects.get(pk=account.pk)


def test_a_changed_row_is_reported(directory, pushed):
    directory.query(
        "UPDATE mailbox SET send_limit = 7, imap = 0 WHERE address = ?", (pushed.address,)
    )
    code, out = verify()
    assert code == 1
    assert "drift@a.example: imap differs: held 0, desired 1" in out
    assert "drift@a.example: send_limit differs: held 7, desired " in out


def test_a_changed_password_is_reported_without_showing_it(directory, pushed):
    directory.query("UPDATE mailbox SET password = '{PLAIN}x' WHERE address = ?", (pushed.address,))
    code, out = verify()
    assert code == 1 and "drift@a.example: password differs (differs)" in out
    assert "{PLAIN}x" not in out and "argon2" not in out


def test_missing_and_extra_aliases_are_reported(directory, pushed):
    directory.query("DELETE FROM alias WHERE address = 'sales@a.example'")
    directory.query(
        "INSERT INTO alias (address, mailbox) VALUES ('intruder@a.example', ?)", (pushed.address,)
    )
    code, out = verify()
    assert code == 1
    assert (
        "drift@a.example: aliases: held ['intruder@a.example'], desired ['sales@a.example']" in out
    )


def test_changed_forwards_are_reported(directory, pushed):
    directory.query("DELETE FROM forward WHERE address = ?", (pushed.address,))
    code, out = verify()
    assert code == 1
    assert (
        "drift@a.example: forwards: held [], desired ['drift@a.example', 'far@elsewhere.test']"
        in out
    )


def test_a_changed_or_missing_sieve_script_is_reported(directory, pushed):
    directory.query(
        "UPDATE mailbox SET sieve = ? WHERE address = ?",
        ('require "fileinto";\nfileinto "Elsewhere";\n', pushed.address),
    )
    code, out = verify()
    assert code == 1 and "drift@a.example: sieve differs (differs)" in out
    assert "drift@a.example: Sieve script the servers read differs" in out

    directory.query("DROP VIEW sieve_script")  # say a directory restored from an old dump
    code, out = verify()
    assert code == 1 and "mail directory: the mail directory has no Sieve view" in out


def test_a_missing_mailbox_and_an_unknown_one_are_reported(directory, pushed):
    directory.query(
        "INSERT INTO mailbox (address, domain, local_part, password, active, quota_bytes, "
        "imap, pop3, smtp, allow_nets, reject_all, reject_text, send_limit, sieve, version) "
        "SELECT 'stray@a.example', domain, 'stray', password, active, "
        "quota_bytes, imap, pop3, smtp, allow_nets, reject_all, reject_text, send_limit, "
        "sieve, version FROM mailbox WHERE address = ?",
        (pushed.address,),
    )
    directory.query("DELETE FROM mailbox WHERE address = ?", (pushed.address,))
    code, out = verify()
    assert code == 1
    assert "drift@a.example: missing from the mail directory" in out
    assert "stray@a.example: in the mail directory but not in the panel" in out
    assert directory.mailbox("stray@a.example") is not None  # reported, never removed


def test_an_account_being_deleted_must_be_gone_from_the_directory(directory, pushed):
    services.account_deactivate(account=pushed)
    sync.account_push(account_id=pushed.pk)
    EmailAccount.objects.filter(pk=pushed.pk).update(deleting=True)
    code, out = verify()
    assert code == 1 and "drift@a.example: being deleted" in out


def test_repair_reenqueues_only_the_drifted_accounts(directory, pushed, make_account, domain_a):
    clean = make_account(domain_a, "clean")
    sync.account_push(account_id=clean.pk)
    directory.query("UPDATE mailbox SET quota_bytes = 1 WHERE address = ?", (pushed.address,))
    versions = {a.pk: a.desired_version for a in EmailAccount.objects.all()}
    code, out = verify("--repair")
    assert code == 1 and "re-enqueued 1 account(s)" in out
    after = {a.pk: a.desired_version for a in EmailAccount.objects.all()}
    assert after == {**versions, pushed.pk: versions[pushed.pk] + 1}
    sync.account_push(account_id=pushed.pk)  # what the worker does with it
    assert verify() == (0, "no drift\n")


def test_a_changed_sending_limit_in_redis_is_reported(directory, settings, domain_a, make_account):
    need(redis_up(), "Redis is not running on 127.0.0.1:6379")
    settings.POLICY_REDIS_URL = POLICY_REDIS
    local = f"limit{os.getpid()}"  # Redis is shared with other test runs on this machine
    account = make_account(domain_a, local, daily_send_limit=300)
    sync.account_push(account_id=account.pk)
    try:
        assert verify() == (0, "no drift\n")
        store.set_limit(account.address, 5)
        code, out = verify()
        assert code == 1 and f"{account.address}: sending limit: held 5, desired 300" in out
        store.clear(account.address)
        code, out = verify()
        assert code == 1 and f"{account.address}: sending limit: held None, desired 300" in out
    finally:
        store.clear(account.address)


def test_group_expansions_are_compared_and_repaired(
    directory, pushed, org_a, make_account, domain_a
):
    from accounts import groups
    from accounts.models import Group

    other = make_account(domain_a, "other")
    sync.account_push(account_id=other.pk)
    team = groups.group_create(
        organization=org_a, name="Team", address="team@a.example", members=[pushed.address]
    )
    sync.group_push(group_id=team.pk)
    assert verify() == (0, "no drift\n")

    directory.query(
        "INSERT INTO forward (address, target) VALUES (?, ?)", ("team@a.example", other.address)
    )
    directory.query("INSERT INTO mailgroup (address, version) VALUES (?, ?)", ("old@a.example", 1))
    code, out = verify("--repair")
    assert code == 1
    assert (
        "group team@a.example: members drift@a.example, other@a.example in the mail directory, "
        "drift@a.example in the panel" in out
    )
    assert "group old@a.example: in the mail directory but not in the panel" in out
    assert "re-enqueued 1 group(s)" in out
    team = Group.objects.get(pk=team.pk)
    assert not team.is_applied  # the repair pushes it again
    sync.group_push(group_id=team.pk)
    directory.query("DELETE FROM mailgroup WHERE address = ?", ("old@a.example",))
    assert verify() == (0, "no drift\n")
    directory.query("DELETE FROM mailgroup WHERE address = ?", ("team@a.example",))
    code, out = verify()
    assert code == 1 and "group team@a.example: missing from the mail directory" in out
