"""Portal fixtures: alice (a mailbox owner in organization A) signed in; the Italian catalog
compiled so Italian pages can be asserted."""

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import need

LOCALE = Path(__file__).resolve().parents[2] / "locale"


@pytest.fixture(scope="session")
def italian_catalog():
    """`make test` compiles the .po first; a bare pytest run compiles it here."""
    need(shutil.which("msgfmt") is not None, "gettext (msgfmt) is not installed")
    po = LOCALE / "it" / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        call_command("compilemessages", locale=["it"], ignore_patterns=[".venv"], verbosity=0)
    return mo


@pytest.fixture
def alice(account_a):
    return account_a


@pytest.fixture
def portal(client, alice):
    """A client signed in as alice, the owner of account_a."""
    client.force_login(alice.user)
    return client
