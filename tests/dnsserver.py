"""A real authoritative DNS server for the tests: Knot (Debian's `knot`), from a private
config on a free loopback port, with test zones that tests change by RFC 2136 updates."""

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.update

ZONE = """$ORIGIN {zone}.
$TTL 60
@ SOA ns.{zone}. hostmaster.{zone}. 1 60 60 600 60
@ NS ns.{zone}.
ns A 127.0.0.1
"""

CONFIG = """server:
    listen: 127.0.0.1@{port}
    rundir: {base}
    user: root:root
database:
    storage: {base}/db
control:
    listen: {base}/knot.sock
log:
  - target: stderr
    any: warning
acl:
  - id: local_update
    address: 127.0.0.0/8
    action: update
template:
  - id: default
    storage: {base}/zones
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    acl: local_update
zone:
{zones}
"""


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (Knot listens on both)."""
    for _ in range(50):
        tcp = socket.socket()
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            udp.close()
            tcp.close()
        return port
    raise RuntimeError("no free port")


class Knot:
    def __init__(self, zones: list[str]) -> None:
        self.zones = zones
        self.base = Path(tempfile.mkdtemp(prefix="tm-knot-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        (self.base / "db").mkdir()
        (self.base / "zones").mkdir()
        for zone in zones:
            (self.base / "zones" / f"{zone}.zone").write_text(ZONE.format(zone=zone))
        listed = "\n".join(f"  - domain: {zone}" for zone in zones)
        self.config = self.base / "knot.conf"
        self.config.write_text(CONFIG.format(port=self.port, base=self.base, zones=listed))

    def start(self, timeout: float = 10) -> None:
        log = open(self.base / "knot.log", "a")  # noqa: SIM115
        self.proc = subprocess.Popen(
            ["knotd", "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"knotd did not start: {(self.base / 'knot.log').read_text()}")

    def answers(self) -> bool:
        query = dns.message.make_query(f"{self.zones[0]}.", "SOA")
        try:
            response = dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.3)
        except (OSError, dns.exception.Timeout):
            return False
        return response.rcode() == dns.rcode.NOERROR and bool(response.answer)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def _zone_of(self, name: str) -> str:
        name = name.rstrip(".")
        for zone in sorted(self.zones, key=len, reverse=True):
            if name == zone or name.endswith("." + zone):
                return zone
        raise ValueError(f"{name} is in no test zone")

    def _update(self, name: str, change) -> None:
        update = dns.update.UpdateMessage(self._zone_of(name))
        change(update, f"{name.rstrip('.')}.")
        response = dns.query.tcp(update, "127.0.0.1", port=self.port, timeout=5)
        assert response.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(response.rcode())

    def set(self, name: str, rtype: str, *values: str, ttl: int = 60) -> None:
        """Replace the name's records of that type (TXT values are given unquoted; long ones
        are split into strings of 255 as a zone file has them)."""
        texts = [_txt(v) if rtype == "TXT" else v for v in values]

        def change(update, fqdn):
            update.delete(fqdn, rtype)
            for text in texts:
                update.add(fqdn, ttl, rtype, text)

        self._update(name, change)

    def delete(self, name: str, rtype: str | None = None) -> None:
        self._update(name, lambda update, fqdn: update.delete(fqdn, *([rtype] if rtype else [])))


def _txt(value: str) -> str:
    parts = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
    return " ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in parts)


@contextlib.contextmanager
def running_knot(zones: list[str]):
    server = Knot(zones)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
