"""The "+ Email account" wizard: four steps, nothing saved until Create, validated on the server."""

import html
import re

import pytest
from django.urls import reverse

from accounts.models import Alias, EmailAccount, User
from domains import services as domain_services
from domains.models import Membership, Role

STEP1 = {
    "first_name": "Carol",
    "last_name": "Jones",
    "local_part": "carol",
    "password": "Tr0ub4dor&3-horse",
}
STEP2 = {"quota_mb": "5120", "services": ["imap", "smtp", "webmail"]}
STEP3 = {
    "password_expiry_months": "6",
    "force_2fa": "on",
    "allowed_networks": "192.0.2.0/24\n2001:db8::1",
}
STEP4 = {"forward_to": "carol@elsewhere.test", "forward_keep_copy": "on", "spam_to_inbox": "on"}
STEPS = {1: STEP1, 2: STEP2, 3: STEP3, 4: STEP4}


class Wizard:
    def __init__(self, client, domain):
        self.client, self.domain = client, domain
        self.url = reverse("accounts:create", args=[domain.pk])

    def start(self):
        return self.client.get(self.url, {"new": 1})

    def get(self, step: int):
        return self.client.get(self.url, {"step": step})

    def post(self, step: int, data: dict | None = None, action: str = "next"):
        values = STEPS[step] if data is None else data
        return self.client.post(f"{self.url}?step={step}", {**values, "action": action})

    def walk(self, upto: int = 4, **changes):
        """Fill steps 1..upto; changes={"step3": {...}} replaces a step's values."""
        self.start()
        for n in range(1, upto + 1):
            data = {**STEPS[n], **changes.get(f"step{n}", {})}
            response = self.post(n, data, action="create" if n == 4 else "next")
            if n < 4:
                assert response.status_code == 302, self.errors(response)
                assert response["Location"].endswith(f"?step={n + 1}")
        return response

    @staticmethod
    def errors(response) -> str:
        text = response.content.decode()
        return " | ".join(re.findall(r'class="error">([^<]*)<', text)) + " | ".join(
            re.findall(r'<div class="errors" role="alert">(.*?)</div>', text, re.S)
        )


@pytest.fixture
def wizard(client_for, owner, domain_a):
    return Wizard(client_for(owner), domain_a)


def nothing_saved(address="carol@a.example") -> bool:
    return (
        not EmailAccount.objects.filter(address=address).exists()
        and not User.objects.filter(email=address).exists()
    )


def test_four_steps_then_create(wizard, domain_a):
    page = wizard.start().content.decode()
    for label in ("New account", "Services", "Account security", "Options"):
        assert label in page
    assert '<h1 id="step-heading">Step 1 of 4: New account</h1>' in page
    for n in (1, 2, 3):
        response = wizard.post(n)
        assert response.status_code == 302 and response["Location"].endswith(f"?step={n + 1}")
        assert nothing_saved(), f"something was saved after step {n}"
    page = wizard.get(4).content.decode()
    assert '<h1 id="step-heading">Step 4 of 4: Options</h1>' in page
    assert 'value="create"' in page and nothing_saved()

    response = wizard.post(4, action="create")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:list", args=[domain_a.pk])
    account = EmailAccount.objects.select_related("user").get(address="carol@a.example")
    assert (account.first_name, account.last_name) == ("Carol", "Jones")
    assert account.quota_mb == 5120
    assert account.services == ["imap", "smtp", "webmail"]
    assert account.password_expiry_months == 6 and account.force_2fa
    assert account.allowed_networks == ["192.0.2.0/24", "2001:db8::1/128"]
    assert account.forward_to == ["carol@elsewhere.test"] and account.spam_to_inbox
    assert account.daily_send_limit == domain_a.default_daily_send_limit
    assert account.user.check_password(STEP1["password"])
    assert account.status == "updating"
    listing = wizard.client.get(response["Location"]).content.decode()
    assert "Email account carol@a.example created." in listing
    assert "carol@a.example" in listing and "Updating" in listing


def test_going_back_keeps_what_was_typed(wizard):
    wizard.start()
    wizard.post(1)
    wizard.post(2)
    response = wizard.post(3, action="back")  # back from step 3: what was typed is kept
    assert response["Location"].endswith("?step=2")
    step2 = wizard.get(2).content.decode()
    assert re.search(r'<option value="5120"[^>]*selected', step2)
    assert re.search(r'value="pop"[^>]*>', step2) and not re.search(
        r'value="pop"[^>]*checked', step2
    )
    assert re.search(r'value="imap"[^>]*checked', step2)
    wizard.post(2, action="back")
    step1 = wizard.get(1).content.decode()
    assert 'value="Carol"' in step1 and 'value="Jones"' in step1 and 'value="carol"' in step1
    assert STEP1["password"] not in step1  # never echoed back
    assert "A password is set" in step1
    step3 = wizard.get(3).content.decode()
    assert "192.0.2.0/24" in step3 and re.search(r'name="force_2fa"[^>]*checked', step3)
    # The password typed on the first pass still holds when step 1 is sent again empty.
    assert wizard.post(1, {**STEP1, "password": ""}).status_code == 302
    wizard.post(2)
    wizard.post(3)
    wizard.post(4, action="create")
    assert User.objects.get(email="carol@a.example").check_password(STEP1["password"])


def test_the_session_never_holds_the_plain_password(wizard, domain_a):
    wizard.start()
    wizard.post(1)
    stored = str(wizard.client.session[f"account-wizard-{domain_a.pk}"])
    assert STEP1["password"] not in stored


def test_generated_password_is_shown_once_and_works(wizard):
    wizard.start()
    response = wizard.post(1, {**STEP1, "password": ""}, action="generate")
    assert response.status_code == 200
    page = response.content.decode()
    match = re.search(r'<code id="generated-password">([^<]+)</code>', page)
    assert match, "the generated password is shown"
    generated = html.unescape(match.group(1))
    assert len(generated) >= 12
    assert 'value="Carol"' in page  # what was typed stays
    again = wizard.get(1).content.decode()
    assert "generated-password" not in again and html.escape(generated) not in again
    assert wizard.post(1, {**STEP1, "password": ""}).status_code == 302
    wizard.post(2)
    wizard.post(3)
    wizard.post(4, action="create")
    user = User.objects.get(email="carol@a.example")
    assert user.check_password(generated)
    assert not user.check_password(STEP1["password"])


def test_step1_needs_a_password_and_a_valid_unused_address(wizard, account_a):
    wizard.start()
    response = wizard.post(1, {**STEP1, "password": ""})
    assert response.status_code == 200 and "Type a password or generate one." in wizard.errors(
        response
    )
    response = wizard.post(1, {**STEP1, "password": "short"})
    assert response.status_code == 200
    response = wizard.post(1, {**STEP1, "local_part": "not valid!"})
    assert response.status_code == 200 and "Use letters" in wizard.errors(response)
    response = wizard.post(1, {**STEP1, "local_part": "ALICE"})  # alice@a.example exists
    assert response.status_code == 200
    assert "already in use" in wizard.errors(response)
    assert EmailAccount.objects.count() == 1


def test_an_alias_or_another_tenants_login_blocks_the_address(
    wizard, org_b, account_a, password_hash
):
    Alias.objects.create(
        organization_id=account_a.organization_id,
        account=account_a,
        domain=account_a.domain,
        local_part="sales",
        address="sales@a.example",
    )
    # A panel login of organization B that happens to use an address on our domain.
    other = User.objects.create_user("chief@a.example", "x")
    Membership.objects.create(user=other, organization=org_b, role=Role.OWNER)
    wizard.start()
    for local in ("sales", "chief"):
        response = wizard.post(1, {**STEP1, "local_part": local})
        assert response.status_code == 200, local
        assert "already in use" in wizard.errors(response)
    assert EmailAccount.objects.count() == 1


def test_address_taken_between_step1_and_create_is_refused_at_create(
    wizard, domain_a, make_account
):
    wizard.walk(3)
    make_account(domain_a, "carol")  # someone else was faster
    response = wizard.post(4, action="create")
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        response = wizard.client.get(response["Location"])
    assert "already in use" in response.content.decode()
    assert EmailAccount.objects.filter(address="carol@a.example").count() == 1


@pytest.mark.parametrize(
    "networks, message",
    [
        ("\n".join(f"192.0.2.{n}" for n in range(1, 7)), "At most 5 IP addresses"),
        ("10.0.0.0/33", "is not an IP address or CIDR class"),
        ("300.1.2.3", "is not an IP address or CIDR class"),
        ("2001:db8::/129", "is not an IP address or CIDR class"),
    ],
)
def test_step3_refuses_six_ips_and_invalid_cidr(wizard, networks, message):
    wizard.walk(2)
    response = wizard.post(3, {**STEP3, "allowed_networks": networks})
    assert response.status_code == 200
    assert message in wizard.errors(response)
    assert nothing_saved()


def test_step3_accepts_five_addresses_or_classes(wizard):
    wizard.walk(2)
    five = "192.0.2.1\n192.0.2.0/24\n10.0.0.0/8\n2001:db8::/32\n::1"
    assert wizard.post(3, {**STEP3, "allowed_networks": five}).status_code == 302


@pytest.mark.parametrize(
    "forwards, message",
    [
        ([f"f{n}@elsewhere.test" for n in range(21)], "At most 20 forwarding addresses"),
        (["carol@a.example"], "cannot forward to itself"),
        (["Carol@A.EXAMPLE"], "cannot forward to itself"),
        (["x@elsewhere.test", "X@elsewhere.test"], "listed twice"),
        (["not-an-address"], "is not a valid email address"),
    ],
)
def test_step4_refuses_bad_forwards(wizard, forwards, message):
    wizard.walk(3)
    response = wizard.post(4, {**STEP4, "forward_to": "\n".join(forwards)}, action="create")
    assert response.status_code == 200
    assert message in wizard.errors(response)
    assert nothing_saved()


def test_step4_accepts_twenty_forwards(wizard):
    twenty = "\n".join(f"f{n}@elsewhere.test" for n in range(20))
    response = wizard.walk(4, step4={"forward_to": twenty})
    assert response.status_code == 302
    assert len(EmailAccount.objects.get(address="carol@a.example").forward_to) == 20


def test_the_plans_account_limit_is_refused_naming_the_limit(wizard, domain_a, make_account):
    for n in range(5):  # the test plan allows 5
        make_account(domain_a, f"user{n}")
    response = wizard.walk(4)
    page = response.content.decode() if response.status_code == 200 else ""
    assert "Your plan allows at most 5 email accounts." in page
    assert nothing_saved()


def test_create_without_the_earlier_steps_sends_back_to_step1(wizard):
    wizard.start()
    response = wizard.post(4, action="create")
    assert response.status_code == 302 and response["Location"].endswith("?step=1")
    assert nothing_saved() and EmailAccount.objects.count() == 0


def test_services_and_storage_only_as_the_domain_allows(wizard, domain_a):
    domain_services.domain_update_settings(
        domain=domain_a,
        services=["imap", "webmail"],
        storage_options_mb=[1024, 5120],
        default_daily_send_limit=300,
    )
    wizard.start()
    wizard.post(1)
    page = wizard.get(2).content.decode()
    assert 'value="imap"' in page and 'value="webmail"' in page
    for absent in ("pop", "smtp", "activesync", "dav", "xmpp"):
        assert f'value="{absent}"' not in page, absent
    assert '<option value="1024"' in page and '<option value="5120"' in page
    assert 'value="10240"' not in page

    response = wizard.post(2, {"quota_mb": "5120", "services": ["imap", "pop"]})
    assert response.status_code == 200 and "pop is not one of the available choices" in (
        wizard.errors(response)
    )
    response = wizard.post(2, {"quota_mb": "10240", "services": ["imap"]})
    assert response.status_code == 200 and "10240" in wizard.errors(response)

    wizard.post(2, {"quota_mb": "1024", "services": ["imap", "webmail"]})
    wizard.post(3)
    wizard.post(4, action="create")
    account = EmailAccount.objects.get(address="carol@a.example")
    assert account.services == ["imap", "webmail"] and account.quota_mb == 1024
    assert account.daily_send_limit == 300


def test_the_wizard_starts_with_the_domains_defaults(wizard, domain_a):
    page = wizard.start().content.decode()
    assert 'name="first_name"' in page and "@a.example" in page
    wizard.post(1)
    step2 = wizard.get(2).content.decode()
    assert re.search(r'<option value="1024"[^>]*selected', step2)  # the smallest option
    for service in domain_a.services:
        assert re.search(rf'value="{service}"[^>]*checked', step2), service


def test_idn_domain_shows_unicode_in_the_wizard(client_for, owner, org_a):
    domain = domain_services.domain_create(organization=org_a, name="bücher.example")
    wizard = Wizard(client_for(owner), domain)
    assert "@bücher.example" in wizard.start().content.decode()
    response = wizard.walk(4, step1={"local_part": "anna"})
    assert response.status_code == 302
    assert EmailAccount.objects.filter(address="anna@xn--bcher-kva.example").exists()


@pytest.mark.parametrize("who", ["owner", "operator"])
def test_writers_may_create(request, who, client_for, domain_a):
    wizard = Wizard(client_for(request.getfixturevalue(who)), domain_a)
    assert wizard.walk(4).status_code == 302
    assert EmailAccount.objects.filter(address="carol@a.example").exists()


def test_a_viewer_gets_403_and_nothing_is_saved(client_for, viewer, domain_a):
    wizard = Wizard(client_for(viewer), domain_a)
    assert wizard.start().status_code == 403
    for n in (1, 2, 3):
        assert wizard.post(n).status_code == 403
    assert wizard.post(4, action="create").status_code == 403
    assert nothing_saved()


def test_another_tenant_gets_404(client_for, admin_b, domain_a):
    wizard = Wizard(client_for(admin_b), domain_a)
    response = wizard.start()
    assert response.status_code == 404 and "a.example" not in response.content.decode()
    assert wizard.post(1).status_code == 404
    assert nothing_saved()


def test_anonymous_is_sent_to_login(client, domain_a):
    wizard = Wizard(client, domain_a)
    for response in (wizard.start(), wizard.post(1)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert nothing_saved()
