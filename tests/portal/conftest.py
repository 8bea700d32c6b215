"""Portal fixtures: alice (a mailbox owner in organization A) signed in; the Italian catalog."""

import shutil
from pathlib import Path

import pytest

from tests.conftest import need

LOCALE = Path(__file__).resolve().parents[2] / "locale"


@pytest.fixture(scope="session")
def italian_catalog():
    """Compiled by tests/conftest.py's pytest_configure before any test ran."""
    need(shutil.which("msgfmt") is not None, "gettext (msgfmt) is not installed")
    return LOCALE / "it" / "LC_MESSAGES" / "django.mo"


@pytest.fixture
def alice(account_a):
    return account_a


@pytest.fixture
def portal(client, alice):
    """A client signed in as alice, the owner of account_a."""
    client.force_login(alice.user)
    return client
