"""A loopback DNS server that answers every question with NXDOMAIN, for rspamd in the tests:
its blocklist, SPF and reverse lookups get a quick "no such name" (not listed, no record)
instead of waiting for timeouts or asking the Internet."""

import contextlib
import socket
import threading

import dns.exception
import dns.message
import dns.rcode


class NxdomainServer:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="dns-nxdomain", daemon=True)

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            with contextlib.suppress(dns.exception.DNSException, OSError):
                answer = dns.message.make_response(dns.message.from_wire(data))
                answer.set_rcode(dns.rcode.NXDOMAIN)
                self.sock.sendto(answer.to_wire(), peer)

    def __enter__(self) -> "NxdomainServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()
