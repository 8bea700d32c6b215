"""Break each rule on purpose, one at a time, and check that a test notices (then restore).

    .venv/bin/python scripts/break_rules.py            # the rules the plain suite covers
    .venv/bin/python scripts/break_rules.py --mailstack  # also those only the mail stack sees
    .venv/bin/python scripts/break_rules.py NAME...    # only these
    .venv/bin/python scripts/break_rules.py --baseline  # their tests pass unbroken

Each break is a literal replacement in one file; the named tests must then FAIL. The file is
restored afterwards whatever happens. docs/testing.md lists the results."""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Break:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    mailstack: bool = False
    also: tuple[tuple[str, str], ...] = ()  # more (old, new) replacements in the same file


BREAKS = [
    Break(
        "a batch push flushes the auth cache once per user instead of once per host",
        "tempusmail/mailbackend/dovecot/backend.py",
        "            host.flush(addresses)",
        "            for address in addresses:\n                host.flush([address])",
        ("tests/mailbackend/test_doveadm_hosts.py",),
    ),
    Break(
        "a bulk job sends one push task per account instead of one per chunk",
        "tempusmail/provisioning.py",
        "if gathered is not None and task in gathered:",
        "if False:",
        ("tests/accounts/test_account_bulk.py",),
    ),
    Break(
        "stale account push wins in the Dovecot adapter",
        "tempusmail/mailbackend/dovecot/backend.py",
        "if held is not None and is_stale(",
        "if False and is_stale(",
        ("tests/mailbackend/test_dovecot_backend.py", "tests/mailbackend/test_dovecot_push.py"),
    ),
    Break(
        "a stale push of a deleted account wins over the re-created address",
        "tempusmail/mailbackend/base.py",
        "        return held_id > pushed_id\n",
        "        pass\n",
        ("tests/mailbackend/test_recreated_address.py",),
    ),
    Break(
        "a stale push of a deleted account removes the re-created mailbox (mail stack)",
        "tempusmail/mailbackend/base.py",
        "    return not (held_identity and identity and held_identity != identity)\n",
        "    return True\n",
        ("tests/mailstack/test_mailstack_recreated.py",),
        mailstack=True,
    ),
    Break(
        "stale domain push wins in the Dovecot adapter",
        "tempusmail/mailbackend/dovecot/backend.py",
        '"version = excluded.version WHERE domain.version <= excluded.version",',
        '"version = excluded.version",',
        ("tests/mailbackend/test_dovecot_backend.py", "tests/mailbackend/test_dovecot_push.py"),
        also=(
            (
                "held = held.fetchone()\n"
                "            if held is not None and held[0] > state.version:",
                "held = held.fetchone()\n            if False:",
            ),
        ),
    ),
    Break(
        "stale group push wins in the Dovecot adapter",
        "tempusmail/mailbackend/dovecot/backend.py",
        ").fetchone()\n            if held is not None and held[0] > state.version:\n"
        '                log.info("ignored stale push of group',
        ").fetchone()\n            if False:\n"
        '                log.info("ignored stale push of group',
        ("tests/billing/test_group_adapter.py",),
    ),
    Break(
        "a push reads the version before taking the directory's write lock",
        "tempusmail/mailbackend/dovecot/directory.py",
        'self.conn.execute("BEGIN IMMEDIATE")',
        'self.conn.execute("BEGIN")',
        ("tests/mailbackend/test_dovecot_doveadm.py",),
    ),
    Break(
        "pushes of one address are not serialized on a PostgreSQL directory",
        "tempusmail/mailbackend/dovecot/directory.py",
        "if lock_key:  # serialize pushes",
        "if False:  # serialize pushes",
        ("tests/mailbackend/test_dovecot_postgres_lock.py",),
    ),
    Break(
        "a failing doveadm passes as success",
        "tempusmail/mailbackend/dovecot/backend.py",
        "            if check:\n",
        "            if False:\n",
        ("tests/mailbackend/test_dovecot_doveadm.py",),
    ),
    Break(
        "an unreadable quota shows as an empty mailbox",
        "tempusmail/mailbackend/dovecot/backend.py",
        "storage_bytes=storage.get(a),",
        "storage_bytes=storage.get(a, 0),",
        ("tests/mailbackend/test_dovecot_doveadm.py",),
    ),
    Break(
        "remove_domain leaves the domain",
        "tempusmail/mailbackend/dovecot/backend.py",
        'db.execute("DELETE FROM domain WHERE name = ?", (name,))',
        "pass",
        ("tests/mailbackend/test_dovecot_backend.py", "tests/mailbackend/test_dovecot_push.py"),
    ),
    Break(
        "domain_push records a version it did not push",
        "domains/sync.py",
        "mark_applied(Domain, pk=domain.pk, version=state.version)",
        "mark_applied(Domain, pk=domain.pk, version=state.version + 1)",
        ("tests/mailbackend/test_dovecot_push.py",),
    ),
    Break(
        "deactivation does not kick open sessions",
        "tempusmail/mailbackend/dovecot/backend.py",
        "kick=[s.address for s in applied if not s.active]",
        "kick=[]",
        ("tests/mailbackend/test_dovecot_backend.py",),
    ),
    Break(
        "a mail host that failed is not reported (the account turns Online without it)",
        "tempusmail/mailbackend/dovecot/backend.py",
        "        if failed:\n            names =",
        "        if False:\n            names =",
        ("tests/mailbackend/test_doveadm_hosts.py",),
    ),
    Break(
        "an operator may DELETE an account through the API",
        "accounts/api.py",
        "account = _account(request, token, pk, manage=True)\n        services.account_delete",
        "account = _account(request, token, pk, write=True)\n        services.account_delete",
        ("tests/security/test_api_roles.py",),
    ),
    Break(
        "password history depth 5 -> 3",
        "accounts/passwords.py",
        "HISTORY_SIZE = 5",
        "HISTORY_SIZE = 3",
        ("tests/accounts/test_passwords.py",),
    ),
    Break(
        "the left-most X-Forwarded-For hop is believed",
        "tempusmail/net.py",
        "for hop in reversed([h for h in hops if h]):",
        "for hop in [h for h in hops if h]:",
        ("tests/tempusmail/test_net.py", "tests/security/test_ip_restrictions.py"),
    ),
    Break(
        "TRUSTED_PROXIES classes match only their first address",
        "tempusmail/net.py",
        "return any(address in net for net in _networks(tuple(networks)))",
        "return any(address == net.network_address for net in _networks(tuple(networks)))",
        ("tests/tempusmail/test_net.py", "tests/security/test_ip_restrictions.py"),
    ),
    Break(
        "recovery despite 'disable password change'",
        "security/services.py",
        "if account.disable_password_recovery or account.disable_password_change:",
        "if account.disable_password_recovery:",
        ("tests/security/test_recovery_rules.py",),
    ),
    Break(
        "recovery limit shared by every client address",
        "security/services.py",
        'key = f"recover:ip:{ip}"',
        'key = "recover:ip:"',
        ("tests/security/test_recovery_rules.py",),
    ),
    Break(
        "address book sorted by first name",
        "webmail_settings/services.py",
        '.order_by("last_name", "first_name", "address")',
        '.order_by("first_name", "last_name", "address")',
        ("tests/portal/test_address_book_order.py",),
    ),
    Break(
        "address book cap 5,000 -> 50,000",
        "webmail_settings/services.py",
        "ADDRESS_BOOK_LIMIT = 5000",
        "ADDRESS_BOOK_LIMIT = 50000",
        ("tests/portal/test_address_book_order.py",),
    ),
    Break(
        "argon2 memory 19 MiB -> 64 MiB",
        "accounts/hashers.py",
        "memory_cost = 19456",
        "memory_cost = 65536",
        ("tests/accounts/test_hashers.py",),
    ),
    Break(
        "audit log keeps names with token/key/otp",
        "tempusmail/audit.py",
        'SECRET_WORDS = ("password", "secret", "hash", "token", "key", "otp")',
        'SECRET_WORDS = ("password", "secret", "hash")',
        ("tests/tempusmail/test_audit.py",),
    ),
    Break(
        "another tenant's object is a 403",
        "domains/access.py",
        "    if role is None:\n        raise not_found()",
        "    if role is None:\n        raise forbid()",
        ("tests/security/test_isolation_sweep.py::test_no_role_of_a_reaches_b",),
    ),
    Break(
        "a refused form still writes",
        "webmail_settings/views.py",
        '    return _render(request, account, "preferences", "portal/preferences.html", form=form)',
        "    if request.method == 'POST':\n"
        "        type(account).objects.filter(pk=account.pk)"
        ".update(sent_24h=account.sent_24h + 1)\n"
        '    return _render(request, account, "preferences", "portal/preferences.html", form=form)',
        ("tests/security/test_hostile_input.py::test_hostile_values_to_every_form",),
    ),
    Break(
        "list page cap 10,000 -> 1,000",
        "accounts/views.py",
        "    CAP = 10_000",
        "    CAP = 1_000",
        ("tests/accounts/test_list_queries.py",),
    ),
    Break(
        "one more query on the account list",
        "accounts/views.py",
        '    q = request.GET.get("q", "").strip()[:100]',
        '    q = request.GET.get("q", "").strip()[:100]\n    EmailAccount.objects.exists()',
        (
            "tests/accounts/test_list_queries.py::test_account_list_queries_do_not_grow_with_accounts",
        ),
    ),
    Break(
        "login failures never expire",
        "security/services.py",
        "if not cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW):",
        "if not cache.add(key, 1, None):",
        ("tests/security/test_login_window.py",),
    ),
    Break(
        "session renewed on every request",
        "security/middleware.py",
        "TOUCH_EVERY = 60",
        "TOUCH_EVERY = -1",
        ("tests/security/test_sessions.py",),
    ),
    Break(
        "IP restrictions only under /portal/",
        "security/middleware.py",
        "        if not ip_allowed(user, ip):",
        '        if path.startswith("/portal/") and not ip_allowed(user, ip):',
        ("tests/security/test_ip_restrictions.py",),
    ),
    Break(
        "verify_backend ignores aliases",
        "accounts/management/commands/verify_backend.py",
        'if row["aliases"] != sorted(state.aliases):',
        "if False:",
        ("tests/mailbackend/test_verify_backend.py",),
    ),
    Break(
        "seed_demo forgets a mailbox",
        "accounts/management/commands/seed_demo.py",
        '("bob", "Bob", "Bianchi"), ',
        "",
        ("tests/accounts/test_seed_demo.py",),
    ),
    Break(
        "X-Frame-Options not on every answer",
        "tempusmail/settings.py",
        '    "django.middleware.clickjacking.XFrameOptionsMiddleware",\n',
        "",
        ("tests/security/test_security_headers.py",),
    ),
    Break(
        "deleting a mailbox leaves its sessions open (adapter)",
        "tempusmail/mailbackend/dovecot/backend.py",
        'self.doveadm("kick", address, check=False)  # no session: nothing to kick',
        "pass",
        ("tests/mailbackend/test_dovecot_backend.py",),
    ),
    Break(
        "verify_backend ignores forwards",
        "accounts/management/commands/verify_backend.py",
        'if row["forwards"] != forward_targets(state):',
        "if False:",
        ("tests/mailbackend/test_verify_backend.py",),
    ),
    Break(
        "verify_backend ignores the Sieve script the servers read",
        "accounts/management/commands/verify_backend.py",
        'if row["served_sieve"] != want["sieve"]:',
        "if False:",
        ("tests/mailbackend/test_verify_backend.py",),
    ),
    Break(
        "verify_backend ignores sending limits",
        "accounts/management/commands/verify_backend.py",
        "if limits is not None and limits.get(account.address) != state.daily_send_limit:",
        "if False:",
        ("tests/mailbackend/test_verify_backend.py",),
    ),
    Break(
        "Content-Security-Policy not on every answer",
        "security/middleware.py",
        'response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)',
        "pass",
        ("tests/security/test_security_headers.py",),
    ),
    Break(
        "an operator may change a privileged mailbox's credentials",
        "accounts/access.py",
        "    if user.is_staff or user.pk == account.user_id:\n        return True",
        "    if True:\n        return True",
        ("tests/accounts/test_access.py", "tests/security/test_privilege.py"),
    ),
    Break(
        "a colleague hidden from the address book shows a photo",
        "accounts/access.py",
        "(own.pk == account.pk or (account.in_address_book and account.is_active))",
        "True",
        ("tests/accounts/test_access.py",),
    ),
    Break(
        "an anonymous visitor asks for a membership (TypeError, a 500)",
        "domains/access.py",
        "    if not user.is_authenticated:\n        raise not_found()\n    membership = (",
        "    membership = (",
        ("tests/domains/test_access.py",),
    ),
    Break(
        "quota refused only at delivery, not at RCPT",
        "deploy/postfix/main.cf.in",
        "    check_policy_service inet:{{DOVECOT_HOST}}:{{QUOTA_STATUS_PORT}},\n",
        "",
        (
            "tests/mailstack/test_mailstack_delivery.py::test_quota_refuses_delivery_beyond_capacity_and_panel_shows_usage",
        ),
        mailstack=True,
    ),
    Break(
        "a full mailbox refuses its forwards",
        "deploy/postfix/recipient-access.cf.in",
        "OR EXISTS (SELECT 1 FROM forward WHERE forward.address = mailbox.address)",
        "OR 1 = 0",
        (
            "tests/mailstack/test_mailstack_sessions_and_forwards.py::test_forwarding_works_for_a_full_mailbox",
        ),
        mailstack=True,
    ),
    Break(
        "deactivation leaves IMAP sessions open",
        "tempusmail/mailbackend/dovecot/backend.py",
        "kick=[s.address for s in applied if not s.active]",
        "kick=[]",
        (
            "tests/mailstack/test_mailstack_sessions_and_forwards.py::test_an_open_imap_session_is_cut",
        ),
        mailstack=True,
    ),
]


def run(item: Break) -> bool:
    """True if the tests failed with the rule broken (the wanted outcome)."""
    path = ROOT / item.path
    original = broken = path.read_text()
    for old, new in ((item.old, item.new), *item.also):
        if original.count(old) != 1:
            raise SystemExit(f"{item.name}: the text to replace is not found once in {item.path}")
        broken = broken.replace(old, new)
    try:
        path.write_text(broken)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *item.tests],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    finally:
        path.write_text(original)
    return done.returncode != 0


def baseline(chosen: list[Break]) -> bool:
    """True if every named test passes with no rule broken (else a "caught" means nothing)."""
    tests = sorted({t for item in chosen for t in item.tests})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=ROOT
    )
    return done.returncode == 0


def main(args: list[str]) -> int:
    mailstack = "--mailstack" in args
    names = [a for a in args if not a.startswith("--")]
    chosen = [b for b in BREAKS if (mailstack or not b.mailstack)]
    if names:
        chosen = [b for b in BREAKS if any(n in b.name for n in names)]
    if "--baseline" in args:
        return 0 if baseline(chosen) else 1
    missed = []
    for item in chosen:
        caught = run(item)
        print(f"{'caught' if caught else 'MISSED'}  {item.name}  ({', '.join(item.tests)})")
        if not caught:
            missed.append(item.name)
    print(f"\n{len(chosen) - len(missed)} of {len(chosen)} broken rules caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
