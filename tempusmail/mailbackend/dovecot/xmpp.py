"""The XMPP server: its virtual hosts, one per active mail domain (deploy/prosody reads the
file and applies its changes without a restart), and the sessions closed when a user's XMPP
access goes."""

import http.client
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from ..base import BackendError

HOSTS_FILE = "xmpp-hosts.cfg.lua"
# Domain names reach the directory as IDNA (ASCII); anything else never enters Lua source.
_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")


def hosts_text(names: list[str]) -> str:
    lines = ["-- Written by TempusMail's mail adapter: one VirtualHost per active mail domain."]
    lines += [f'VirtualHost "{name}"' for name in sorted(set(names)) if _HOST.match(name)]
    return "\n".join(lines) + "\n"


def write_hosts(path: Path, names: list[str]) -> None:
    """Replace the file atomically, only when its content changes (Prosody polls it)."""
    text = hosts_text(names)
    try:
        if path.exists() and path.read_text() == text:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise BackendError(f"could not write the XMPP hosts file: {exc}") from exc


def close_sessions(addresses: list[str]) -> None:
    """Close these users' open XMPP sessions (deploy/prosody, mod_tempusmail_admin): Dovecot
    refuses their next login, this ends the chats already open. Without XMPP_ADMIN_URL there
    is no XMPP server to tell."""
    url = settings.XMPP_ADMIN_URL
    if not url or not addresses:
        return
    parts = urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    headers = {"Authorization": f"Bearer {settings.XMPP_ADMIN_KEY}", "Content-Type": "text/plain"}
    conn = cls(parts.hostname, parts.port, timeout=settings.DOVEADM_TIMEOUT)
    try:
        path = parts.path.rstrip("/") + "/tempusmail/kick"
        conn.request("POST", path, "\n".join(addresses).encode(), headers)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise BackendError(f"the XMPP server did not answer ({exc or type(exc).__name__})") from exc
    finally:
        conn.close()
    if response.status != 200:
        raise BackendError(f"the XMPP server refused to close sessions (HTTP {response.status})")
