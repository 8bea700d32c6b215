"""The worker side of accounts: build the full desired state, push it, record it applied;
the reconciler and the usage collector. Tasks call these; the panel never does."""

from collections import defaultdict

from django.db import transaction

from domains.models import Domain
from tempusmail.mailbackend import AccountState, Autoresponder, GroupState, get_backend
from tempusmail.provisioning import mark_applied, mark_applied_many

from .models import EmailAccount, Group, User


def account_state(account: EmailAccount) -> AccountState:
    autoresponder = None
    if account.autoreply_enabled:
        autoresponder = Autoresponder(
            subject=account.autoreply_subject,
            body=account.autoreply_body,
            start=account.autoreply_start,
            end=account.autoreply_end,
        )
    return AccountState(
        address=account.address,
        password_hash=account.user.password,
        active=account.is_active,
        quota_bytes=account.quota_bytes,
        services=frozenset(account.services),
        allowed_networks=tuple(account.allowed_networks),
        forward_to=tuple(account.forward_to),
        forward_keep_copy=account.forward_keep_copy,
        # An alias on a pending domain reaches nothing yet (that name may be someone else's).
        aliases=tuple(sorted(a.address for a in account.aliases.all() if a.domain.is_verified)),
        autoresponder=autoresponder,
        spam_to_inbox=account.spam_to_inbox,
        reject_all=account.reject_all,
        reject_message=account.reject_message,
        daily_send_limit=account.daily_send_limit,
        version=account.desired_version,
        identity=account.pk,
    )


def account_push(*, account_id: int) -> None:
    """Push the full desired state; record it applied unless a newer version already was."""
    accounts_push(account_ids=[account_id])


def accounts_push(*, account_ids: list[int]) -> None:
    """Push a batch of accounts with one adapter call (one directory transaction, one flush
    per mail host); record each applied unless a newer version already was. An account in
    deletion is removed on its own; nothing of a pending domain is live (its verification
    pushes every account)."""
    accounts = list(
        EmailAccount.objects.select_related("user", "domain")
        .prefetch_related("aliases__domain")
        .filter(pk__in=account_ids)
        .order_by("pk")
    )
    backend = get_backend()
    for account in accounts:
        if account.deleting:
            backend.remove_account(account.address, identity=account.pk)
            with transaction.atomic():
                user_id = account.user_id
                account.delete()
                User.objects.filter(pk=user_id).delete()
    states = [account_state(a) for a in accounts if not a.deleting and a.domain.is_verified]
    if not states:
        return
    backend.apply_accounts(states)
    marked = mark_applied_many(EmailAccount, {s.identity: s.version for s in states})
    stale = [s for s in states if s.identity not in marked]
    if not stale:
        return
    # Stale: a newer push won meanwhile. If that one deleted the account, this late upsert
    # must not bring the mailbox back (the backend holds no version to refuse it by); and
    # if the address was created again since, the new mailbox is another identity that
    # neither this upsert nor this removal touches (the backend compares identities).
    live = dict(
        EmailAccount.objects.filter(pk__in=[s.identity for s in stale]).values_list(
            "pk", "deleting"
        )
    )
    for state in stale:
        if live.get(state.identity, True):
            backend.remove_account(state.address, identity=state.identity)


def group_state(group: Group) -> GroupState:
    """The group's expansion: its active members only (a deactivated member gets nothing)."""
    members = group.members.filter(is_active=True, deleting=False).values_list("address", flat=True)
    return GroupState(
        address=group.address, members=tuple(sorted(members)), version=group.desired_version
    )


def group_push(*, group_id: int) -> None:
    group = Group.objects.select_related("domain").filter(pk=group_id).first()
    if group is None or not group.domain.is_verified:
        return  # a pending domain's group goes live with the domain's verification
    state = group_state(group)
    get_backend().apply_group(state)
    mark_applied(Group, pk=group.pk, version=state.version)


def group_remove(*, address: str) -> None:
    if not Group.objects.filter(address=address).exists():
        get_backend().remove_group(address)


USAGE_FIELDS = ["storage_used_bytes", "last_login_at", "sent_24h", "usage_stale"]


def collect_usage(*, batch_size: int = 500) -> int:
    """Copy storage used, last access and sent-in-24h from the mail system into the panel.
    A figure the mail system could not give keeps its last known value, marked stale. Each
    batch is written under its rows' locks with its domains' storage counters, so a delete
    meanwhile (which takes the account's storage off its domain) is not counted back."""
    backend = get_backend()
    updated = 0
    qs = (
        EmailAccount.objects.filter(deleting=False)
        .order_by("pk")
        .only("pk", "address", "domain_id", *USAGE_FIELDS)
    )
    last_pk = 0
    while batch := list(qs.filter(pk__gt=last_pk)[:batch_size]):
        last_pk = batch[-1].pk
        usages = backend.usage([a.address for a in batch])
        with transaction.atomic():
            held = list(qs.filter(pk__in=[a.pk for a in batch]).select_for_update())
            growth: dict[int, int] = defaultdict(int)
            for account in held:
                usage = usages.get(account.address)
                if usage is None:
                    account.usage_stale = True
                    continue
                if usage.storage_bytes is not None:
                    growth[account.domain_id] += usage.storage_bytes - account.storage_used_bytes
                    account.storage_used_bytes = usage.storage_bytes
                if usage.sent_24h is not None:
                    account.sent_24h = usage.sent_24h
                account.last_login_at = usage.last_login or account.last_login_at
                account.usage_stale = usage.storage_bytes is None or usage.sent_24h is None
            EmailAccount.objects.bulk_update(held, USAGE_FIELDS)
            for domain_id in sorted(growth):  # one order for every run: no deadlock
                if growth[domain_id]:
                    Domain.add_to_counters(domain_id, storage=growth[domain_id])
        updated += len(held)
    return updated
