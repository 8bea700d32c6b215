"""DKIM keys for rspamd: one private key file per domain and selector, and a map naming each
domain's active selector. deploy/rspamd/local.d/dkim_signing.conf reads both; rspamd uses a new
key file at once and rereads the map within a tenth of its map_watch_interval, no restart.

The key files are the only copy of the private keys outside the panel: mode 0640, group
DKIM_KEY_GROUP (the filter's), in a directory of mode 0750."""

import contextlib
import fcntl
import grp
import os
import re
import tempfile
from pathlib import Path

from ..base import BackendError, DkimKey

LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# Names become file names: only lowercase LDH labels (IDNA A-labels), never "/" or "..".
DOMAIN_RE = re.compile(rf"(?=.{{1,253}}\Z)(?:{LABEL}\.)+{LABEL}\Z")
SELECTOR_RE = re.compile(rf"{LABEL}\Z")
MAP_NAME = "selectors.map"


def checked_keys(domain: str, keys: tuple[DkimKey, ...]) -> tuple[DkimKey, ...]:
    """The keys, if they can be written safely: refuse before anything is saved."""
    if keys and not DOMAIN_RE.match(domain):
        raise BackendError(f"cannot store DKIM keys for the domain name {domain!r}")
    selectors = [k.selector for k in keys]
    for key in keys:
        if not SELECTOR_RE.match(key.selector):
            raise BackendError(f"invalid DKIM selector {key.selector!r} for {domain}")
        pem = key.private_key_pem.strip()
        if not (pem.startswith("-----BEGIN ") and pem.endswith("PRIVATE KEY-----")):
            raise BackendError(f"DKIM key {key.selector} of {domain} is not a PEM private key")
    if len(set(selectors)) != len(selectors):
        raise BackendError(f"duplicate DKIM selector for {domain}")
    if sum(k.active for k in keys) > 1:
        raise BackendError(f"more than one active DKIM key for {domain}")
    return keys


class KeyStore:
    def __init__(self, directory: Path, group: str) -> None:
        self.directory, self.group = Path(directory), group

    def path(self, domain: str, selector: str) -> Path:
        return self.directory / f"{domain}.{selector}.key"

    def _gid(self) -> int:
        if not self.group:
            return -1
        try:
            return grp.getgrnam(self.group).gr_gid
        except KeyError:
            raise BackendError(
                f"group {self.group!r} (DKIM_KEY_GROUP) does not exist: install rspamd or "
                "set DKIM_KEY_GROUP to the group the filter runs as"
            ) from None

    def _prepare(self) -> int:
        gid = self._gid()
        try:
            self.directory.mkdir(mode=0o750, parents=True, exist_ok=True)
            os.chown(self.directory, -1, gid)
            self.directory.chmod(0o750)
        except OSError as exc:
            raise BackendError(f"could not prepare the DKIM key directory: {exc}") from exc
        return gid

    def _write(self, path: Path, text: str, gid: int) -> None:
        """Atomically, readable by owner and group only from the first byte on."""
        try:
            if path.exists() and path.read_text() == text:
                return
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            try:
                os.fchmod(fd, 0o640)
                os.fchown(fd, -1, gid)
                with os.fdopen(fd, "w") as handle:
                    handle.write(text)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise BackendError(f"could not write {path.name}: {exc}") from exc

    def write(self, domain: str, key: DkimKey) -> None:
        gid = self._prepare()
        self._write(self.path(domain, key.selector), key.private_key_pem.strip() + "\n", gid)

    def remove(self, domain: str, selector: str) -> None:
        if not (DOMAIN_RE.match(domain) and SELECTOR_RE.match(selector)):
            return  # such a name was never written
        try:
            self.path(domain, selector).unlink(missing_ok=True)
        except OSError as exc:
            raise BackendError(f"could not remove a retired DKIM key: {exc}") from exc

    @contextlib.contextmanager
    def map_lock(self):
        """Serializes map rewrites of all workers on this host (each writes what it read)."""
        self._prepare()
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def has_map(self) -> bool:
        return (self.directory / MAP_NAME).exists()

    def write_map(self, active: list[tuple[str, str]]) -> None:
        """`domain selector` per line: the selector rspamd signs that domain's mail with."""
        lines = "".join(f"{domain} {selector}\n" for domain, selector in sorted(active))
        self._write(self.directory / MAP_NAME, lines, self._prepare())
