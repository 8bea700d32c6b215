"""IP restrictions for a signed-in mailbox owner on every path they guard: /portal/, /security/
and a session's use of /api/ (audited, signed out); other paths and allowed networks pass."""

import pytest

from security.models import AuditEvent

ALLOWED = "192.0.2.10"


@pytest.fixture
def restricted(domain_a, make_account):
    return make_account(domain_a, "ivy", allowed_networks=["192.0.2.0/24"], api_access=True)


@pytest.mark.parametrize("path", ["/portal/", "/security/tokens/", "/security/2fa/", "/api/v1/me/"])
def test_a_session_from_elsewhere_is_refused_and_signed_out(client, restricted, path):
    client.force_login(restricted.user)
    response = client.get(path)  # the test client is 127.0.0.1
    assert response.status_code == 403
    assert "Access refused from this network" in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="ip.refused")
    assert event.actor == restricted.user and event.ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("path", "status"),
    [("/portal/", 200), ("/security/tokens/", 200), ("/security/2fa/", 200), ("/api/v1/me/", 401)],
)
def test_the_same_session_from_an_allowed_network_passes(client, restricted, path, status):
    client.force_login(restricted.user)
    assert client.get(path, REMOTE_ADDR=ALLOWED).status_code == status  # the API wants a token
    assert "_auth_user_id" in client.session
    assert not AuditEvent.objects.filter(action="ip.refused").exists()


def test_allowed_network_behind_a_trusted_proxy_chain(client, settings, restricted):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    client.force_login(restricted.user)
    hops = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"203.0.113.5, {ALLOWED}, 10.1.1.1"}
    assert client.get("/portal/", **hops).status_code == 200
    spoofed = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"{ALLOWED}, 203.0.113.5"}
    assert client.get("/portal/", **spoofed).status_code == 403


def test_an_admin_without_a_mailbox_is_not_restricted(client, owner):
    client.force_login(owner)
    assert client.get("/security/2fa/").status_code == 200
