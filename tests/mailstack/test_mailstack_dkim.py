"""DKIM: keys reach rspamd through the adapter, submitted mail leaves signed, and the signature
verifies against the published key, also after a rotation and a retirement."""

import base64
import email
import grp
import re

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from domains.models import Domain
from tempusmail.mailbackend import BackendError, DkimKey, DomainState
from tempusmail.mailbackend.dovecot import DovecotBackend
from tempusmail.mailbackend.dovecot.dkim import checked_keys
from tests.conftest import wait_until

from .conftest import fetch_message, submit, wait_online, wait_subject

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]


@pytest.fixture(autouse=True)
def _no_keys_left_behind(request):
    """Later tests on the same stack must not find these domains' keys in the filter."""
    yield
    if "stack" in request.fixturenames:
        for name in ("a.example", "b.example"):
            DovecotBackend().remove_domain(name)


def new_key(selector: str, active: bool = True) -> tuple[DkimKey, str]:
    """A key as the panel makes it (RSA 2048) and the TXT record its owner publishes."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return DkimKey(selector, pem, active), f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


class Zone:
    """The published TXT records, as dkimpy's DNS lookup."""

    def __init__(self) -> None:
        self.txt: dict[str, str] = {}

    def publish(self, domain: str, selector: str, record: str) -> None:
        self.txt[f"{selector}._domainkey.{domain}."] = record

    def __call__(self, name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        record = self.txt.get(name if name.endswith(".") else name + ".")
        return record.encode() if record else None


def signature(raw: bytes) -> dict[str, str]:
    """The tags of the message's DKIM-Signature ({} when unsigned)."""
    header = email.message_from_bytes(raw).get("DKIM-Signature")
    if header is None:
        return {}
    tags = re.sub(r"\s+", "", str(header)).split(";")
    return dict(tag.split("=", 1) for tag in tags if "=" in tag)


def push(domain: Domain, version: int, *keys: DkimKey) -> None:
    DovecotBackend().apply_domain(DomainState(domain.name, True, version, tuple(keys)))


def signed_with(stack, selector: str, subject: str) -> bytes:
    """Submit until a message comes out signed with `selector` (rspamd rereads the selector map
    within half a second); the raw message as delivered."""
    count = 0

    def attempt():
        nonlocal count
        count += 1
        this = f"{subject} {count}"
        submit(stack, "dk1@a.example", "dk2@a.example", this)
        wait_subject(stack, "dk2@a.example", this)
        raw = fetch_message(stack, "dk2@a.example", this)
        return raw if signature(raw).get("s") == selector else None

    return wait_until(attempt, timeout=20, interval=0.2, what=f"mail signed with {selector}")


def test_submitted_mail_is_signed_and_verifies_through_rotation_and_retirement(
    stack, mail_worker, domain_a, make_account
):
    for name in ("dk1", "dk2"):
        wait_online(make_account(domain_a, name))
    domain_a.refresh_from_db()
    version = domain_a.desired_version + 10  # newer than anything the panel pushes meanwhile
    zone = Zone()
    first, first_txt = new_key("tm1")
    zone.publish("a.example", "tm1", first_txt)
    push(domain_a, version, first)
    store = DovecotBackend().dkim
    path = store.path("a.example", "tm1")
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.stat().st_gid == grp.getgrnam("_rspamd").gr_gid

    raw = signed_with(stack, "tm1", "Signed")
    tags = signature(raw)
    assert (tags["d"], tags["a"]) == ("a.example", "rsa-sha256")
    assert dkim.verify(raw, dnsfunc=zone)
    # A changed body no longer verifies: the check above is not vacuous.
    assert not dkim.verify(raw.replace(b"Hello.", b"Hello!"), dnsfunc=zone)

    # Rotation: a new active selector; the old key stays valid (and on disk) until retired.
    second, second_txt = new_key("tm2")
    zone.publish("a.example", "tm2", second_txt)
    push(domain_a, version + 1, DkimKey("tm1", first.private_key_pem, False), second)
    raw = signed_with(stack, "tm2", "Rotated")
    assert dkim.verify(raw, dnsfunc=zone)
    assert store.path("a.example", "tm1").exists()

    push(domain_a, version + 2, second)  # the owner retires tm1
    assert not store.path("a.example", "tm1").exists()
    raw = signed_with(stack, "tm2", "Retired")
    assert dkim.verify(raw, dnsfunc=zone)

    # A push older than the one applied changes nothing: tm1 does not come back.
    push(domain_a, version + 1, first)
    assert not store.path("a.example", "tm1").exists()
    assert (store.directory / "selectors.map").read_text() == "a.example tm2\n"


def test_no_signature_for_another_organizations_domain(
    stack, mail_worker, domain_a, domain_b, make_account
):
    for name in ("dk1", "dk2"):
        wait_online(make_account(domain_a, name))
    zone = Zone()
    a_key, a_txt = new_key("tma")
    b_key, b_txt = new_key("tmb")
    zone.publish("a.example", "tma", a_txt)
    zone.publish("b.example", "tmb", b_txt)
    push(domain_a, domain_a.desired_version + 10, a_key)
    push(domain_b, domain_b.desired_version + 10, b_key)
    raw = signed_with(stack, "tma", "Own domain")
    assert dkim.verify(raw, dnsfunc=zone)

    submit(stack, "dk1@a.example", "dk2@a.example", "Posing as b", sender="ceo@b.example")
    wait_subject(stack, "dk2@a.example", "Posing as b")
    assert signature(fetch_message(stack, "dk2@a.example", "Posing as b")) == {}

    DovecotBackend().remove_domain("b.example")
    assert not DovecotBackend().dkim.path("b.example", "tmb").exists()
    assert "b.example" not in (DovecotBackend().dkim.directory / "selectors.map").read_text()


@pytest.mark.parametrize(
    ("domain", "selector", "pem", "message"),
    [
        ("../etc", "s1", None, "domain name"),
        ("a.example", "../../x", None, "invalid DKIM selector"),
        ("a.example", "s1/x", None, "invalid DKIM selector"),
        ("a.example", "s1", "not a key", "not a PEM private key"),
    ],
)
def test_unsafe_key_names_are_refused_before_anything_is_written(domain, selector, pem, message):
    key, _txt = new_key(selector)
    if pem is not None:
        key = DkimKey(selector, pem, True)
    with pytest.raises(BackendError, match=message):
        checked_keys(domain, (key,))


def test_two_active_keys_are_refused():
    one, _ = new_key("s1")
    two, _ = new_key("s2")
    with pytest.raises(BackendError, match="more than one active"):
        checked_keys("a.example", (one, two))


def test_without_the_filters_group_a_key_push_fails_and_saves_nothing(stack, settings, tmp_path):
    settings.DKIM_KEY_DIR = tmp_path / "dkim"
    settings.DKIM_KEY_GROUP = "tm-no-such-group"
    backend = DovecotBackend()
    backend.apply_domain(DomainState("plain.example", True, 1))  # no keys: no group needed
    key, _txt = new_key("s1")
    with pytest.raises(BackendError, match="DKIM_KEY_GROUP"):
        backend.apply_domain(DomainState("plain.example", True, 2, (key,)))
    with backend.connect() as db:
        held = db.execute("SELECT version FROM domain WHERE name = 'plain.example'").fetchone()
        keys = db.execute("SELECT * FROM dkim_key WHERE domain = 'plain.example'").fetchall()
    assert (held[0], keys) == (1, [])
    assert not backend.dkim.path("plain.example", "s1").exists()
