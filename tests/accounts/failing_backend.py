"""Mail backends for worker tests, selected in the worker process by MAIL_BACKEND.

FailingBackend fails while the file FAILING_BACKEND_FLAG exists (the mail system is down);
removing the file brings it back. SlowBackend takes SLOW_BACKEND_SECONDS for each push, as a
busy mail system does, so that a test sees the Updating state before it ends.
"""

import os
import time
from pathlib import Path

from tempusmail.mailbackend.base import AccountState, BackendError
from tempusmail.mailbackend.memory import MemoryBackend


class FailingBackend(MemoryBackend):
    def apply_account(self, state: AccountState) -> None:
        if Path(os.environ["FAILING_BACKEND_FLAG"]).exists():
            raise BackendError("mail directory unavailable: connection refused")
        super().apply_account(state)


class SlowBackend(MemoryBackend):
    def apply_account(self, state: AccountState) -> None:
        time.sleep(float(os.environ.get("SLOW_BACKEND_SECONDS", "2")))
        super().apply_account(state)
