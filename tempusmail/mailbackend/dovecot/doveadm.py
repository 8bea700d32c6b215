"""The mail hosts, as the worker reaches them: Dovecot's doveadm HTTP API.

Every host in settings.DOVEADM_HOSTS is asked the same thing (flush a user's auth cache entry,
kick a user, read a quota, delete a purged mailbox's files); nothing runs on the worker's own
machine and nothing is shared with the hosts but the mail directory and Redis. Without hosts
in the settings the one host is the local Dovecot, reached by its `doveadm` binary.

Dovecot 2.3.19's API, as it behaves (verified on Debian 12): one command per
request (an error followed by another command gives invalid JSON); `authCacheFlush {}` kills
the doveadm server, so a flush always names its user; `kick` takes one mask; exit code 67 is
an unknown user, 68 "nobody to kick", 75 a temporary failure.
"""

import base64
import contextlib
import hashlib
import http.client
import json
import logging
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

log = logging.getLogger(__name__)

NO_SUCH_USER = 67
NOBODY_TO_KICK = 68


class HostError(Exception):
    """One host did not do what it was asked: unreachable, refused, or an exit code."""

    def __init__(self, host: str, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.host, self.message, self.exit_code = host, message, exit_code


def on_every_host(hosts: list, work) -> dict[str, HostError]:
    """Run work(host) for every host at once (one thread each: a push waits for the slowest
    host, not for the sum of them); the hosts that failed, by name."""
    failed: dict[str, HostError] = {}

    def run(host) -> None:
        try:
            work(host)
        except HostError as exc:
            failed[host.name] = exc

    if len(hosts) == 1:
        run(hosts[0])
        return failed
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        list(pool.map(run, hosts))
    return failed


@dataclass(frozen=True)
class MailHost:
    """A Dovecot reached over its doveadm HTTP API (deploy/dovecot: `service doveadm`)."""

    name: str
    url: str  # http(s)://host:port, the API listener
    api_key: str = field(repr=False)
    timeout: float = 10

    def call(self, command: str, params: dict):
        """Run one doveadm command; its response payload, or HostError."""
        parts = urlsplit(self.url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        body = json.dumps([[command, params, "c"]]).encode()
        token = base64.b64encode(self.api_key.encode()).decode()
        headers = {"Authorization": f"X-Dovecot-API {token}", "Content-Type": "application/json"}
        conn = cls(parts.hostname, parts.port, timeout=self.timeout)
        try:
            conn.request("POST", (parts.path.rstrip("/") or "") + "/doveadm/v1", body, headers)
            response = conn.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise HostError(self.name, f"did not answer ({exc or type(exc).__name__})") from exc
        finally:
            conn.close()
        if response.status != 200:
            raise HostError(self.name, f"refused the request (HTTP {response.status})")
        try:
            kind, payload, _tag = json.loads(text)[0]
        except (ValueError, IndexError, TypeError) as exc:
            raise HostError(self.name, f"answered {text[:200]!r}") from exc
        if kind == "error":
            code = payload.get("exitCode") if isinstance(payload, dict) else None
            raise HostError(self.name, f"doveadm {command} failed (exit code {code})", code)
        return payload

    # --- what the adapter asks ---------------------------------------------------------

    def flush(self, addresses: list[str]) -> None:
        """One request for them all (the command's `user` is a list of names)."""
        self.call("authCacheFlush", {"user": list(addresses)})

    def kick(self, address: str) -> None:
        try:
            self.call("kick", {"mask": [address]})
        except HostError as exc:
            if exc.exit_code != NOBODY_TO_KICK:
                raise

    def storage(self, addresses: list[str]) -> dict[str, int]:
        """Bytes used per mailbox on this host (quota STORAGE is in kilobytes). One request
        per domain (doveadm's user mask `*@domain`); users of other hosts count 0 here."""
        wanted, result = set(addresses), {}
        for domain in sorted({a.partition("@")[2] for a in addresses}):
            try:
                rows = self.call("quotaGet", {"user": f"*@{domain}"})
            except HostError as exc:
                if exc.exit_code == NO_SUCH_USER:
                    continue
                raise
            for row in rows:
                if row.get("type") == "STORAGE" and row.get("username") in wanted:
                    with contextlib.suppress(TypeError, ValueError):
                        result[row["username"]] = int(row["value"]) * 1024
        return result

    def purge(self, address: str) -> None:
        """Delete the mailbox's files on this host (its home, as the userdb names it); the
        user must still be in the directory. A user this host does not know has none."""
        try:
            answer = self.call("user", {"userMask": [address], "field": "home"})
        except HostError as exc:
            if exc.exit_code == NO_SUCH_USER:
                return
            raise
        home = (answer.get(address) or {}).get("home", "") if isinstance(answer, dict) else ""
        if not home.startswith("/") or home.rstrip("/").count("/") < 2:
            raise HostError(self.name, f"will not delete the home {home!r}")
        # "dirs": the directories go too, not only the files in them.
        try:
            self.call(
                "fsDelete",
                {"recursive": True, "fsDriver": "posix", "fsArgs": "dirs", "path": [home]},
            )
        except HostError:
            # A mailbox nobody ever wrote to has no home (Dovecot creates it lazily), and
            # deleting it fails with the same exit code as any other failure: look.
            if self.exists(home):
                raise

    def exists(self, path: str) -> bool:
        try:
            self.call("fsStat", {"fsDriver": "posix", "fsArgs": "", "path": path})
        except HostError:
            return False
        return True


class LocalHost:
    """The Dovecot on the worker's own machine, through its `doveadm` binary (no API key
    needed). A Dovecot that is not running has no cache or session to act on."""

    name = "local"

    def run(self, *args: str, check: bool = True) -> str:
        config = settings.DOVECOT_CONFIG
        if config and not Path(config).exists():
            log.warning("DOVECOT_CONFIG %s does not exist: doveadm %s skipped", config, args[0])
            return ""
        cmd = [settings.DOVEADM, *(["-c", config] if config else []), *args]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HostError(self.name, f"doveadm failed: {exc}") from exc
        if done.returncode != 0:
            err = done.stderr.strip()
            if "No such file or directory" in err or "Connection refused" in err:
                return ""
            if check:
                raise HostError(self.name, f"doveadm {' '.join(args)} failed: {err}")
        return done.stdout

    def flush(self, addresses: list[str]) -> None:
        """Nothing: the local Dovecot runs without an auth cache (deploy/dovecot)."""

    def kick(self, address: str) -> None:
        self.run("kick", address, check=False)

    def storage(self, addresses: list[str]) -> dict[str, int]:
        """One doveadm run per batch; a mailbox doveadm did not answer for is left out."""
        with tempfile.NamedTemporaryFile("w", suffix=".users") as users:
            users.write("\n".join(addresses) + "\n")
            users.flush()
            out = self.run("-f", "tab", "quota", "get", "-F", users.name, check=False)
        result: dict[str, int] = {}
        lines = out.splitlines()
        if not lines:
            return result
        header = [name.lower() for name in lines[0].split("\t")]
        for line in lines[1:]:
            values = dict(zip(header, line.split("\t"), strict=False))
            if values.get("type") == "STORAGE" and values.get("username"):
                with contextlib.suppress(ValueError):
                    result[values["username"]] = int(values["value"]) * 1024
        return result

    def purge(self, address: str) -> None:
        """The local adapter deletes the home itself (backend.remove_account)."""


def parse_hosts(text: str) -> list[tuple[str, str]]:
    """settings.DOVEADM_HOSTS: `name=url` entries separated by spaces or commas, e.g.
    "mx1=http://10.0.0.11:10808 mx2=http://10.0.0.12:10808"; a bare URL is named by its host."""
    hosts = []
    for item in text.replace(",", " ").split():
        name, sep, url = item.partition("=")
        if not sep or "/" in name:
            name, url = urlsplit(item).hostname or item, item
        hosts.append((name, url))
    return hosts


def configured_hosts() -> list:
    """The mail hosts of settings.DOVEADM_HOSTS; the local Dovecot if there are none."""
    entries = parse_hosts(getattr(settings, "DOVEADM_HOSTS", "") or "")
    if not entries:
        return [LocalHost()]
    key = getattr(settings, "DOVEADM_API_KEY", "")
    timeout = float(getattr(settings, "DOVEADM_TIMEOUT", 10))
    return [MailHost(name=name, url=url, api_key=key, timeout=timeout) for name, url in entries]


def storage_host(address: str) -> str:
    """The host a new mailbox is stored on: one of settings.MAIL_STORAGE_HOSTS (addresses a
    Dovecot proxy reaches the hosts at), chosen by a hash of the address so every worker
    chooses the same; '' without such hosts (one host, or no proxy in front)."""
    hosts = (getattr(settings, "MAIL_STORAGE_HOSTS", "") or "").replace(",", " ").split()
    if not hosts:
        return ""
    digest = hashlib.sha256(address.lower().encode()).digest()
    return hosts[int.from_bytes(digest[:8], "big") % len(hosts)]
