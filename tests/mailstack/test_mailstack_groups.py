"""A group address through the real stack: Postfix expands it (virtual alias rows the Dovecot
adapter writes) into every active member's INBOX; a deactivated member gets nothing, and gets
the group's mail again once reactivated."""

import smtplib

import pytest

from accounts import groups
from accounts import services as account_services
from domains import services as domain_services
from domains.models import Membership, Role
from tempusmail.mailbackend.dovecot import DovecotBackend
from tests.conftest import wait_until

from .conftest import mailbox_subjects, send, wait_applied, wait_online, wait_subject

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]


def expansion(address: str) -> list[str]:
    """What Postfix's virtual alias map answers for the address (the adapter's rows)."""
    with DovecotBackend().connect() as db:
        rows = db.execute("SELECT target FROM forward WHERE address = ?", (address,))
        return sorted(r[0] for r in rows.fetchall())


def test_mail_to_a_group_reaches_every_active_member(
    stack, mail_worker, org_a, domain_a, make_account
):
    members = [make_account(domain_a, name) for name in ("grp1", "grp2", "grp3")]
    for account in members:
        wait_online(account)
    team = groups.group_create(
        organization=org_a,
        name="Team",
        address="team1@a.example",
        members=[a.address for a in members],
    )
    away = members[2]
    account_services.account_deactivate(account=away)
    wait_online(away)
    wait_applied(team)
    assert expansion("team1@a.example") == ["grp1@a.example", "grp2@a.example"]

    send(stack, "someone@outside.test", "team1@a.example", "to the team")
    for account in members[:2]:
        wait_subject(stack, account.address, "to the team")

    account_services.account_reactivate(account=away)
    wait_online(away)
    wait_applied(team)
    send(stack, "someone@outside.test", "team1@a.example", "after the return")
    for account in members:
        wait_subject(stack, account.address, "after the return")
    # delivered while deactivated: never
    assert "to the team" not in mailbox_subjects(stack, away.address)
    assert mailbox_subjects(stack, members[0].address).count("to the team") == 1


def test_a_deleted_group_address_is_refused(stack, mail_worker, org_a, domain_a, make_account):
    member = make_account(domain_a, "grp4")
    wait_online(member)
    team = groups.group_create(
        organization=org_a, name="Gone", address="gone1@a.example", members=[member.address]
    )
    wait_applied(team)
    send(stack, "someone@outside.test", "gone1@a.example", "before")
    wait_subject(stack, member.address, "before")
    groups.group_delete(group=team)

    wait_until(
        lambda: expansion("gone1@a.example") == [],
        timeout=30,
        what="gone1@a.example removed from the mail directory",
    )
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(stack, "someone@outside.test", "gone1@a.example", "after")
    assert "after" not in mailbox_subjects(stack, member.address)


def test_a_group_takes_support_over_from_the_owner_and_gives_it_back(
    stack, mail_worker, org_a, domain_a, make_account
):
    boss = make_account(domain_a, "boss2")
    helper = make_account(domain_a, "helper1")
    Membership.objects.create(user=boss.user, organization=org_a, role=Role.OWNER)
    domain_services.organization_domains_repush(organization_id=org_a.pk)
    for account in (boss, helper):
        wait_online(account)
    wait_applied(domain_a)
    send(stack, "someone@outside.test", "support@a.example", "to the owner")
    wait_subject(stack, boss.address, "to the owner")

    desk = groups.group_create(
        organization=org_a, name="Support", address="support@a.example", members=[helper.address]
    )
    wait_applied(desk)
    send(stack, "someone@outside.test", "support@a.example", "to the desk")
    wait_subject(stack, helper.address, "to the desk")

    groups.group_delete(group=desk)
    wait_until(lambda: expansion("support@a.example") == [], timeout=30, what="group removed")
    send(stack, "someone@outside.test", "support@a.example", "back to the owner")
    wait_subject(stack, boss.address, "back to the owner")
    assert "to the desk" not in mailbox_subjects(stack, boss.address)
