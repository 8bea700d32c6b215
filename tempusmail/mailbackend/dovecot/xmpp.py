"""The XMPP server's virtual hosts: one per active mail domain (deploy/prosody reads the file
and applies its changes without a restart)."""

import os
import re
import tempfile
from pathlib import Path

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
