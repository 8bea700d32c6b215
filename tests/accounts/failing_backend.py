"""Mail backends for worker tests, selected in the worker process by MAIL_BACKEND.

FailingBackend fails while the file FAILING_BACKEND_FLAG exists (the mail system is down);
removing the file brings it back. GatedBackend holds every push while the file
GATED_BACKEND_FLAG exists, as a busy mail system would: a test sees the Updating state for as
long as it holds the gate, and the push lands as soon as it lets go (no fixed delay).
"""

import os
import time
from pathlib import Path

from tempusmail.mailbackend.base import AccountState, BackendError
from tempusmail.mailbackend.memory import MemoryBackend


class FailingBackend(MemoryBackend):
    def apply_accounts(self, states: list[AccountState]) -> list[AccountState]:
        if Path(os.environ["FAILING_BACKEND_FLAG"]).exists():
            raise BackendError("mail directory unavailable: connection refused")
        return super().apply_accounts(states)


class GatedBackend(MemoryBackend):
    def apply_accounts(self, states: list[AccountState]) -> list[AccountState]:
        gate, deadline = Path(os.environ["GATED_BACKEND_FLAG"]), time.monotonic() + 120
        while gate.exists():
            if time.monotonic() > deadline:
                raise BackendError("the test held the gate for two minutes")
            time.sleep(0.05)
        return super().apply_accounts(states)
