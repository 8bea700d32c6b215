"""Render the Dovecot, Postfix and rspamd templates in deploy/ into a directory.

    python deploy/render.py OUT_DIR [NAME=VALUE ...]

Values come from the defaults below, then the environment (TM_<NAME>), then the arguments.
MAIL_DIRECTORY_URL (sqlite:////abs/path or postgres://user:pass@host:port/db) fills in the
SQL connection for Dovecot and the map type for Postfix. Standard library only: the
docker-compose mail containers run it too.
"""

import os
import re
import secrets
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
DEFAULTS = {
    "LISTEN": "127.0.0.1",
    # Where each server reaches the other (docker-compose: the service names).
    "DOVECOT_HOST": "127.0.0.1",
    "POSTFIX_HOST": "127.0.0.1",
    "MYNETWORKS": "127.0.0.0/8",
    # Postfix's inet_interfaces (empty: LISTEN, or "all" for LISTEN=*). Its services bind to
    # LISTEN anyway; Postfix refuses to start with an address no interface carries, such as
    # 127.0.0.2 on Linux (routed by lo, not an address of it): give "all" then.
    "INET_INTERFACES": "",
    "HOSTNAME": "mail.tempusmail.test",
    "INSTANCE": "main",
    "IMAP_PORT": "10143",
    "POP3_PORT": "10110",
    "SMTP_PORT": "10025",
    "SUBMISSION_PORT": "10587",
    "LMTP_PORT": "10024",
    "QUOTA_STATUS_PORT": "10026",
    # Implicit TLS (IMAPS, POP3S, submissions); STARTTLS is offered on the ports above.
    "IMAPS_PORT": "10993",
    "POP3S_PORT": "10995",
    "SUBMISSIONS_PORT": "10465",
    # Certificate chain and key (PEM); empty: OUT/tls/{cert,key}.pem (deploy/tls-selfsigned.sh).
    "TLS_CERT": "",
    "TLS_KEY": "",
    # "yes" allows password logins without TLS (local development and tests only).
    "PLAINTEXT_AUTH": "no",
    # rspamd (spam verdict, DKIM signing) as Postfix's milter: where Postfix reaches it, its
    # scanner and controller (loopback only), DNS servers (empty: the system's resolver), the
    # Hyperscan cache (empty: in DBDIR; keep it, a cold start compiles for many seconds), and
    # how often it rereads file maps (a tenth of this) such as the DKIM selector map.
    "RSPAMD_HOST": "127.0.0.1",
    "RSPAMD_PORT": "11332",
    "RSPAMD_NORMAL_PORT": "11333",
    "RSPAMD_CONTROLLER_PORT": "11334",
    "RSPAMD_DNS": "",
    "RSPAMD_DB_DIR": "",
    "RSPAMD_HS_CACHE": "",
    "RSPAMD_MAP_WATCH_INTERVAL": "60s",
    # DKIM private keys and the selector map the adapter writes (empty: MAIL_ROOT/dkim).
    "DKIM_KEY_DIR": "",
    # Webmail, DAV and XMPP (docs/services.md).
    "WEBMAIL_IMAP_PORT": "10144",
    "WEBMAIL_SUBMISSION_PORT": "10588",
    "WEBMAIL_PORT": "10080",
    "DAV_PORT": "10232",
    "XMPP_PORT": "10222",
    # Where the mail adapter closes a user's XMPP sessions, and its key (empty: a random one).
    "XMPP_ADMIN_PORT": "10281",
    "XMPP_ADMIN_KEY": "",
    "XMPP_DATA_DIR": "",
    "PANEL_URL": "http://127.0.0.1:8000",
    "SERVICES_API_KEY": "",
    "ROUNDCUBE_DES_KEY": "",
    "ROUNDCUBE_DIR": "",
    "DAV_DIR": "",
    "XMPP_REQUIRE_TLS": "false",
    "XMPP_ALLOW_PLAIN": "true",
    "POLICY_PORT": "",
    "POLICY_HOST": "127.0.0.1",
    # The doveadm HTTP API (the panel's workers reach each mail host there) and its key:
    # empty, a random one (the API then answers nobody who was not told the rendered key).
    "DOVEADM_HTTP_PORT": "10808",
    "DOVEADM_API_KEY": "",
    # The Redis every host records last logins in (redis://host:port/db, no password: a
    # private network); empty: a file on this host (one mail host only).
    "LAST_LOGIN_REDIS_URL": "",
    # "backend" (stores mail) or "proxy": a Dovecot in front of several backends that logs
    # each user in on the host the directory names (mailbox.host), on these ports (empty:
    # IMAP_PORT, POP3_PORT). A backend behind a proxy lists the proxies' addresses in
    # LOGIN_TRUSTED_NETWORKS so that IP restrictions see the client, not the proxy.
    "DOVECOT_ROLE": "backend",
    "BACKEND_IMAP_PORT": "",
    "BACKEND_POP3_PORT": "",
    "BACKEND_LMTP_PORT": "",
    # Where Postfix delivers (empty: DOVECOT_HOST); with several hosts, a proxy's LMTP.
    "LMTP_HOST": "",
    "LOGIN_TRUSTED_NETWORKS": "",
    "MAIL_UID": "5000",
    "MAIL_GID": "5000",
    "RELAYHOST": "",
    "DNS_SUPPORT_LEVEL": "enabled",
    "AUTH_FAILURE_DELAY": "2 secs",
    "AUTH_PENALTY_MODE": "0600",
    "MAIL_DIRECTORY_URL": "",
    "MAIL_ROOT": "",
}


def sql_vars(url: str) -> dict[str, str]:
    """Dovecot's driver/connect and Postfix's map type/connection lines for one URL."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        path = path[1:] if path.startswith("//") else path
        # Both servers only read, and must never create an empty file if it is briefly
        # missing: an SQLite URI opened read-only (Debian's SQLite interprets URIs; Dovecot
        # 2.3.19 ignores its own "readonly=yes" and would create a file of that name).
        uri = f"file:{path}?mode=ro"
        return {
            "SQL_DRIVER": "sqlite",
            "SQL_CONNECT": uri,
            "MAP_TYPE": "sqlite",
            "MAP_CONNECT": f"dbpath = {uri}",
        }
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        host, port = parts.hostname or "127.0.0.1", parts.port or 5432
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        dbname = parts.path.lstrip("/")
        connect = f"host={host} port={port} dbname={dbname} user={user}"
        lines = [f"hosts = inet:{host}:{port}", f"dbname = {dbname}", f"user = {user}"]
        if password:
            connect += f" password={password}"
            lines.append(f"password = {password}")
        return {
            "SQL_DRIVER": "pgsql",
            "SQL_CONNECT": connect,
            "MAP_TYPE": "pgsql",
            "MAP_CONNECT": "\n".join(lines),
        }
    raise SystemExit(f"unsupported MAIL_DIRECTORY_URL: {url!r}")


def proxy_fields(values: dict[str, str]) -> str:
    """The passdb fields that make a proxy log the user in on its host: Dovecot's own `proxy`
    and `host` extra fields (and the backend's port per protocol). A row without a host is
    served by the proxy itself (which holds no mail): behind a proxy every row has one."""
    role = values["DOVECOT_ROLE"]
    if role == "backend":
        return ""
    if role != "proxy":
        raise SystemExit(f"DOVECOT_ROLE must be backend or proxy, not {role!r}")
    imap = int(values["BACKEND_IMAP_PORT"] or values["IMAP_PORT"])
    pop3 = int(values["BACKEND_POP3_PORT"] or values["POP3_PORT"])
    lmtp = int(values["BACKEND_LMTP_PORT"] or values["LMTP_PORT"])
    return (
        ", \\\n         NULLIF(host, '') AS host, "
        "CASE WHEN host = '' THEN NULL ELSE 'y' END AS proxy, \\\n         "
        f"CASE '%s' WHEN 'pop3' THEN {pop3} WHEN 'lmtp' THEN {lmtp} ELSE {imap} END AS port"
    )


def last_login_dict(url: str, root: str) -> str:
    """Dovecot's dict URI for the last_login plugin: Redis shared by the hosts, or a file."""
    if not url:
        return f"file:{root}/state/last-login.dict"
    parts = urlsplit(url)
    db = parts.path.strip("/") or "0"
    return f"redis:host={parts.hostname or '127.0.0.1'}:port={parts.port or 6379}:db={db}"


def tls_vars(out: Path, values: dict[str, str]) -> dict[str, str]:
    """Certificate paths, and what PLAINTEXT_AUTH means for Dovecot and Postfix: by default a
    password is only accepted over TLS (Dovecot still trusts a client on its own address)."""
    plain = values["PLAINTEXT_AUTH"].lower() in ("yes", "1", "true")
    return {
        "TLS_CERT": values["TLS_CERT"] or str(out / "tls" / "cert.pem"),
        "TLS_KEY": values["TLS_KEY"] or str(out / "tls" / "key.pem"),
        "DOVECOT_SSL": "yes" if plain else "required",
        "DISABLE_PLAINTEXT_AUTH": "no" if plain else "yes",
        "TLS_AUTH_ONLY": "no" if plain else "yes",
    }


def rspamd_vars(out: Path, values: dict[str, str]) -> dict[str, str]:
    db = values["RSPAMD_DB_DIR"] or str(out / "rspamd-db")
    servers = [s.strip() for s in values["RSPAMD_DNS"].split(",") if s.strip()]
    listed = ", ".join(f'"{s}"' for s in servers)
    return {
        "RSPAMD_DB_DIR": db,
        "RSPAMD_HS_CACHE": values["RSPAMD_HS_CACHE"] or db,
        "RSPAMD_BIND": "*" if values["LISTEN"] == "*" else values["LISTEN"],
        "RSPAMD_DNS_SERVERS": f"nameserver = [{listed}];" if servers else "",
        "DKIM_KEY_DIR": values["DKIM_KEY_DIR"] or f"{values['MAIL_ROOT']}/dkim",
    }


def settings(out: Path, overrides: dict[str, str]) -> dict[str, str]:
    values = dict(DEFAULTS)
    names = [*DEFAULTS, "RUN_DIR", "LOG_DIR", "QUEUE_DIR"]
    values.update({k: os.environ[f"TM_{k}"] for k in names if f"TM_{k}" in os.environ})
    values.update(overrides)
    root = values["MAIL_ROOT"] or str(out / "mailroot")
    values["MAIL_ROOT"] = root
    values.setdefault("RUN_DIR", str(out / "run"))
    values.setdefault("LOG_DIR", str(out / "log"))
    values.setdefault("QUEUE_DIR", str(out / "queue"))
    values["RENDER_DIR"] = str(out)
    values["DEPLOY_DIR"] = str(HERE)
    values["ROUNDCUBE_DIR"] = values["ROUNDCUBE_DIR"] or str(out / "roundcube")
    values["XMPP_HOSTS_FILE"] = f"{root}/xmpp-hosts.cfg.lua"  # written by the mail adapter
    values["DAV_DIR"] = values["DAV_DIR"] or f"{root}/dav"
    values["XMPP_DATA_DIR"] = values["XMPP_DATA_DIR"] or f"{root}/xmpp"
    # Roundcube encrypts the IMAP password in its session with it: 24 characters, kept
    # across renders only if given (a new key ends open webmail sessions, nothing else).
    values["ROUNDCUBE_DES_KEY"] = values["ROUNDCUBE_DES_KEY"] or secrets.token_hex(12)
    values["DOVEADM_API_KEY"] = values["DOVEADM_API_KEY"] or secrets.token_hex(24)
    values["XMPP_ADMIN_KEY"] = values["XMPP_ADMIN_KEY"] or secrets.token_hex(24)
    values["MAIL_DIRECTORY_URL"] = values["MAIL_DIRECTORY_URL"] or f"sqlite:///{root}/directory.db"
    values["PROXY_FIELDS"] = proxy_fields(values)
    proxy = values["DOVECOT_ROLE"] == "proxy"
    # LMTP asks the passdb without a password; a proxy routes every stored mailbox's mail
    # (active or not: Postfix refuses what a closed mailbox must not get) to its host.
    values["LMTP_LOOKUP"] = "'%s' = 'lmtp' OR " if proxy else ""
    values["LMTP_PROXY"] = "yes" if proxy else "no"
    values["LMTP_HOST"] = values["LMTP_HOST"] or values["DOVECOT_HOST"]
    values["LAST_LOGIN_DICT"] = last_login_dict(values["LAST_LOGIN_REDIS_URL"], root)
    values.update(tls_vars(out, values))
    values.update(rspamd_vars(out, values))
    values.update(sql_vars(values["MAIL_DIRECTORY_URL"]))
    # LISTEN=* (containers): every interface, for Dovecot and Postfix alike.
    everywhere = values["LISTEN"] == "*"
    values["INET_INTERFACES"] = values["INET_INTERFACES"] or (
        "all" if everywhere else values["LISTEN"]
    )
    values["BIND_PREFIX"] = "" if everywhere else values["LISTEN"] + ":"
    values["DAV_LISTEN"] = "0.0.0.0" if everywhere else values["LISTEN"]  # noqa: S104
    values["XMPP_LISTEN"] = values["LISTEN"]
    values["DOVEADM_LISTEN"] = values["LISTEN"]
    # The sending-limit policy service (python -m tempusmail.policy): checked at RCPT and
    # counted at end of data on the submission port; no port, no limit enforcement.
    port = values["POLICY_PORT"]
    check = f"check_policy_service inet:{values['POLICY_HOST']}:{port}" if port else ""
    values["POLICY_CHECK"] = f"{check}, " if check else ""
    values["POLICY_END_OF_DATA"] = check
    return values


def render(
    out: Path, overrides: dict[str, str] | None = None, only: tuple[str, ...] = ()
) -> dict[str, str]:
    """Write every *.in template below deploy/ (or below the directories `only` names) into
    OUT (same relative path, no .in)."""
    out = Path(out).resolve()
    values = settings(out, overrides or {})
    for template in sorted(HERE.glob("*/**/*.in")):
        if only and template.relative_to(HERE).parts[0] not in only:
            continue
        text = template.read_text()

        def fill(match: re.Match, template: Path = template) -> str:
            name = match.group(1)
            if name not in values:
                raise SystemExit(f"{template}: no value for {{{{{name}}}}}")
            return values[name]

        target = out / template.relative_to(HERE).with_suffix("")
        if template.parent.name == "dovecot":
            target = out / template.name[: -len(".in")]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(re.sub(r"\{\{([A-Z0-9_]+)\}\}", fill, text))
    for name in ("RUN_DIR", "LOG_DIR", "QUEUE_DIR"):
        Path(values[name]).mkdir(parents=True, exist_ok=True)
    return values


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    args = dict(arg.split("=", 1) for arg in sys.argv[2:])
    for key, value in render(Path(sys.argv[1]), args).items():
        print(f"{key}={value}")
