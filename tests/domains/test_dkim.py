"""DKIM keys: RSA 2048, private key encrypted at rest, shown as its DNS record, pushed in the
domain's state; rotation keeps the old key published until the owner retires it."""

import base64
import html

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from domains import dkim, sync
from domains.models import DkimKey
from tempusmail import crypto
from tests.conftest import make_domain


@pytest.fixture
def domain(org_a, fresh_dkim_keys):
    return make_domain(org_a, "a.example")


def push(domain, memory_backend):
    sync.domain_push(domain_id=domain.pk)
    return memory_backend.domains[domain.name]


def test_a_new_domain_has_an_rsa_2048_key_encrypted_at_rest(domain, memory_backend):
    key = domain.dkim_keys.get()
    assert key.active and key.selector.startswith("tm")
    assert "PRIVATE KEY" not in key.private_key  # a Fernet token, not the PEM
    pem = dkim.private_key_pem(key.private_key)
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    assert private.key_size == 2048
    der = base64.b64decode(key.public_key)
    assert serialization.load_der_public_key(der).public_numbers() == (
        private.public_key().public_numbers()
    )
    state = push(domain, memory_backend)
    assert [(k.selector, k.active) for k in state.dkim_keys] == [(key.selector, True)]
    assert state.dkim_keys[0].private_key_pem == pem


def test_the_record_is_shown_split_into_strings_of_at_most_255(domain, client_for, owner):
    key = domain.dkim_keys.get()
    value = key.record_value
    assert value.startswith("v=DKIM1; k=rsa; p=") and len(value) > 255
    strings = dkim.txt_strings(value)
    assert len(strings) == 2 and all(len(s) <= 255 for s in strings)
    assert "".join(strings) == value
    page = client_for(owner).get(reverse("domains:dns", args=[domain.pk])).content.decode()
    assert f"{key.selector}._domainkey.a.example" in page
    assert html.escape(f'"{strings[0]}" "{strings[1]}"') in page  # the zone-file form
    assert value in page  # the single value, for forms that split by themselves


def test_rotate_keeps_the_old_key_published_until_retired(
    domain, client_for, owner, memory_backend
):
    client = client_for(owner)
    old = domain.dkim_keys.get()
    client.post(reverse("domains:dkim_rotate", args=[domain.pk]))
    new = domain.dkim_keys.get(active=True)
    assert new.selector != old.selector and new.public_key != old.public_key
    state = push(domain, memory_backend)
    assert [(k.selector, k.active) for k in state.dkim_keys] == [
        (new.selector, True),
        (old.selector, False),
    ]
    page = client.get(reverse("domains:dns", args=[domain.pk])).content.decode()
    assert "Kept published" in page and "Signing" in page
    # The active key cannot be retired; the old one can.
    response = client.post(
        reverse("domains:dkim_retire", args=[domain.pk]), {"selector": new.selector}, follow=True
    )
    assert "The active key signs outgoing mail" in response.content.decode()
    client.post(reverse("domains:dkim_retire", args=[domain.pk]), {"selector": old.selector})
    assert list(domain.dkim_keys.values_list("selector", flat=True)) == [new.selector]
    state = push(domain, memory_backend)
    assert [k.selector for k in state.dkim_keys] == [new.selector]


def test_kept_keys_are_bounded(domain, client_for, owner):
    client = client_for(owner)
    for _ in range(4):
        client.post(reverse("domains:dkim_rotate", args=[domain.pk]))
    response = client.post(reverse("domains:dkim_rotate", args=[domain.pk]), follow=True)
    assert "Retire an old DKIM key before rotating again" in response.content.decode()
    assert domain.dkim_keys.count() == 5 and domain.dkim_keys.filter(active=True).count() == 1


def test_a_viewer_can_read_but_not_rotate_or_retire(domain, client_for, viewer):
    client = client_for(viewer)
    key = domain.dkim_keys.get()
    assert client.get(reverse("domains:dns", args=[domain.pk])).status_code == 200
    assert client.post(reverse("domains:dkim_rotate", args=[domain.pk])).status_code == 403
    response = client.post(
        reverse("domains:dkim_retire", args=[domain.pk]), {"selector": key.selector}
    )
    assert response.status_code == 403
    assert list(DkimKey.objects.all()) == [key]


def test_keys_follow_the_encryption_key_setting(domain, settings):
    key = domain.dkim_keys.get()
    pem = dkim.private_key_pem(key.private_key)
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        dkim.private_key_pem(key.private_key)
    # Rotation: a new key first encrypts, the old one still decrypts.
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [old]
    token = crypto.encrypt(pem)
    settings.SECRETS_ENCRYPTION_KEYS = [new, old]
    assert dkim.private_key_pem(token) == pem
