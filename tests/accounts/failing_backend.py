"""A mail backend for worker tests that fails while a flag file exists (the mail system down).

Selected in a worker process with MAIL_BACKEND=tests.accounts.failing_backend.FailingBackend and
FAILING_BACKEND_FLAG=<path>; removing the file brings the "mail system" back.
"""

import os
from pathlib import Path

from tempusmail.mailbackend.base import AccountState, BackendError
from tempusmail.mailbackend.memory import MemoryBackend


class FailingBackend(MemoryBackend):
    def apply_account(self, state: AccountState) -> None:
        if Path(os.environ["FAILING_BACKEND_FLAG"]).exists():
            raise BackendError("mail directory unavailable: connection refused")
        super().apply_account(state)
