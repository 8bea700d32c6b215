"""Email account operations. Views and the API call these; they validate on the server,
write in one transaction, bump desired_version when the mail system must learn the change,
and enqueue the push after commit."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _

from domains.billing import charge, give_back, lock_organization
from domains.models import Domain, Organization, SubscriptionType
from tempusmail.audit import audit, audit_many
from tempusmail.provisioning import batched_pushes, enqueue_on_commit

from . import subscriptions
from .access import CREDENTIAL_FIELDS, check_credentials_change
from .models import REJECT_MESSAGE_MAX, Alias, EmailAccount, Group, User
from .passwords import check_password_policy, remember_password
from .tasks import push_account, push_accounts, push_group
from .validators import (
    check_forward_loop,
    normalize_address,
    normalize_forwards,
    normalize_local_part,
    normalize_networks,
    validate_moment,
)

# Fields the mail system must know: changing one bumps desired_version.
MAIL_FIELDS = frozenset(
    {
        "quota_mb",
        "daily_send_limit",
        "services",
        "allowed_networks",
        "forward_to",
        "forward_keep_copy",
        "spam_to_inbox",
        "reject_all",
        "reject_message",
        "autoreply_enabled",
        "autoreply_subject",
        "autoreply_body",
        "autoreply_start",
        "autoreply_end",
    }
)
PANEL_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "force_password_change",
        "password_expiry_months",
        "block_password_reuse",
        "disable_password_change",
        "disable_password_recovery",
        "force_2fa",
        "api_access",
        "webmail_language",
        "webmail_time_zone",
        "date_format",
        "time_format",
        "in_address_book",
    }
)
USER_FIELDS = frozenset(
    {
        "language",
        "time_zone",
        "external_email",
        "phone",
        "job_title",
        "postal_address",
        "birthdate",
    }
)
EDITABLE_FIELDS = MAIL_FIELDS | PANEL_FIELDS | USER_FIELDS


def address_taken(address: str) -> bool:
    """Addresses are unique everywhere: mailboxes, aliases, groups and panel logins."""
    return bool(addresses_taken([address]))


def addresses_taken(addresses: list[str]) -> set[str]:
    """Those of `addresses` in use (address_taken for many, four queries)."""
    upper = {a.upper(): a for a in addresses}
    taken = set()
    for model in (EmailAccount, Alias, Group):
        taken |= set(model.objects.filter(address__in=addresses).values_list("address", flat=True))
    logins = User.objects.annotate(upper=Upper("email")).filter(upper__in=list(upper))
    taken |= {upper[e] for e in logins.values_list("upper", flat=True)}
    return taken


# Rules that read two fields: checked against the account's current value of the other one.
PAIRED_FIELDS = (
    "reject_all",
    "reject_message",
    "autoreply_enabled",
    "autoreply_body",
    "autoreply_start",
    "autoreply_end",
)


def validate_options(
    *,
    domain: Domain,
    address: str,
    values: dict[str, Any],
    current: dict[str, Any] | None = None,
    subscription: SubscriptionType | None = None,
) -> dict[str, Any]:
    """Check option values against the domain, plan and subscription; return them normalized.
    The rules live here only: forms shape input, and show these refusals next to the field
    named."""
    unknown = set(values) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(_("Unknown settings: %(names)s") % {"names": ", ".join(unknown)})
    plan = domain.organization.plan
    clean = dict(values)
    if subscription is not None:
        # Storage and services follow the subscription (seed 003).
        if "quota_mb" in clean and clean["quota_mb"] != subscription.storage_mb:
            raise ValidationError(
                {
                    "quota_mb": _("The subscription %(name)s includes %(mb)d MB of storage.")
                    % {"name": subscription.name, "mb": subscription.storage_mb}
                }
            )
        if "services" in clean and not set(clean["services"]) <= set(subscription.services):
            raise ValidationError(
                {
                    "services": _("The subscription %(name)s does not include one of these.")
                    % {"name": subscription.name}
                }
            )
    elif "quota_mb" in clean and clean["quota_mb"] not in domain.storage_options_mb:
        raise ValidationError(_("Choose one of the storage capacities the domain offers."))
    if "services" in clean:
        if not set(clean["services"]) <= set(domain.services):
            raise ValidationError(_("The domain does not offer one of these services."))
        clean["services"] = [s for s in domain.offered_services() if s in clean["services"]]
    birthdate = clean.get("birthdate")
    if birthdate and not (date(1900, 1, 1) <= birthdate <= timezone.localdate()):
        raise ValidationError({"birthdate": _("Enter a birthdate between 1900 and today.")})
    if "daily_send_limit" in clean and not (
        1 <= clean["daily_send_limit"] <= plan.max_daily_send_limit
    ):
        raise ValidationError(
            {
                "daily_send_limit": _(
                    "Your plan allows a daily sending limit between 1 and %(max)d."
                )
                % {"max": plan.max_daily_send_limit}
            }
        )
    if "forward_to" in clean:
        clean["forward_to"] = normalize_forwards(clean["forward_to"], own_address=address)
    if "allowed_networks" in clean:
        clean["allowed_networks"] = normalize_networks(clean["allowed_networks"])
    if "forward_to" in clean or "forward_keep_copy" in clean:
        held = (
            EmailAccount.objects.filter(address=address)
            .values_list("forward_to", "forward_keep_copy")
            .first()
        ) or ([], True)
        check_forward_loop(
            address=address,
            organization_id=domain.organization_id,
            forward_to=clean.get("forward_to", held[0]),
            keep_copy=bool(clean.get("forward_keep_copy", held[1])),
        )
    both = {**(current or {}), **clean}
    if both.get("reject_all") and not (both.get("reject_message") or "").strip():
        raise ValidationError(
            {"reject_message": _("Write the automatic reply that rejected senders receive.")}
        )
    if len(clean.get("reject_message") or "") > REJECT_MESSAGE_MAX:
        raise ValidationError(
            {
                "reject_message": _("The automatic reply can be at most %(max)d characters long.")
                % {"max": REJECT_MESSAGE_MAX}
            }
        )
    if both.get("autoreply_enabled") and not (both.get("autoreply_body") or "").strip():
        raise ValidationError({"autoreply_body": _("Write the automatic reply.")})
    for name in ("autoreply_start", "autoreply_end"):
        try:
            validate_moment(clean.get(name))
        except ValidationError as error:
            raise ValidationError({name: error.messages}) from None
    start, end = both.get("autoreply_start"), both.get("autoreply_end")
    if start and end and end <= start:
        raise ValidationError({"autoreply_end": _("The autoresponder must end after it starts.")})
    return clean


def account_create(
    *,
    domain: Domain,
    local_part: str,
    first_name: str,
    last_name: str,
    password_hash: str,
    options: dict[str, Any],
    subscription: SubscriptionType | None = None,
    aliases: Iterable[str] = (),
) -> EmailAccount:
    """Create the login and the mailbox together, with its aliases, and charge the first
    period of a paid subscription; nothing is saved (or charged) if any rule fails."""
    new = _new_account(
        domain=domain,
        local_part=local_part,
        first_name=first_name,
        last_name=last_name,
        password_hash=password_hash,
        options=options,
        subscription=subscription,
        unsubscribed=subscription is None and subscriptions.offered_subscriptions().exists(),
    )
    user, account = new.user, new.account
    alias_addresses = _normalize_aliases(aliases, own=account.address)
    subscriptions.check_alias_limit(subscription=subscription, count=len(alias_addresses))
    with transaction.atomic():
        org = _lock_for_new_accounts(domain, 1)
        subscriptions.check_free_limit(organization=org, subscription=subscription)
        if address_taken(account.address):
            raise ValidationError(
                _("%(address)s is already in use.") % {"address": account.address}
            )
        account.organization = org
        if subscription is not None:
            subscriptions.start_period(
                organization=org,
                account=account,
                subscription=subscription,
                now=timezone.now(),
                refusal=_("Top up %(amount)s to create this account."),
            )
        user.save()
        account.user = user
        account.save()
        Domain.add_to_counters(domain.pk, accounts=1, storage=account.storage_used_bytes)
        for alias_address in alias_addresses:
            _create_alias(account, alias_address)
        _enqueue(account)
        audit(action="account.create", obj=account, fields=new.fields)
    return account


@dataclass
class NewAccount:
    """A login and mailbox checked and built, not saved yet."""

    user: User
    account: EmailAccount
    fields: list[str]  # what the audit names


def _new_account(
    *,
    domain: Domain,
    local_part: str,
    first_name: str,
    last_name: str,
    password_hash: str,
    options: dict[str, Any],
    subscription: SubscriptionType | None,
    unsubscribed: bool,
) -> NewAccount:
    """The checks of a new account that need no lock: its options with the domain's (or the
    subscription's) defaults, against the domain and plan. `unsubscribed`: it has no
    subscription while some are offered (refused)."""
    local = normalize_local_part(local_part)
    address = f"{local}@{domain.name}"
    if unsubscribed:
        raise ValidationError({"subscription": _("Choose a subscription.")})
    if subscription is not None and not subscription.is_active:
        raise ValidationError({"subscription": _("This subscription is not offered.")})
    webmail = getattr(
        domain, "webmail", None
    )  # the domain's webmail defaults, if its admin set any
    defaults = {
        "services": list(domain.services),
        "quota_mb": min(domain.storage_options_mb),
        "daily_send_limit": domain.default_daily_send_limit,
    }
    if subscription is not None:
        defaults["services"] = [s for s in domain.services if s in subscription.services]
        defaults["quota_mb"] = subscription.storage_mb
    options = {
        **defaults,
        **(webmail.new_account_defaults() if webmail else {}),
        **options,
    }
    clean = validate_options(
        domain=domain, address=address, values=options, subscription=subscription
    )
    user_values = {k: clean.pop(k) for k in list(clean) if k in USER_FIELDS}
    user = User(
        email=address,
        first_name=first_name,
        last_name=last_name,
        password=password_hash,
        password_changed_at=timezone.now(),
        **user_values,
    )
    account = EmailAccount(
        domain=domain,
        organization_id=domain.organization_id,
        local_part=local,
        address=address,
        first_name=first_name,
        last_name=last_name,
        **clean,
    )
    return NewAccount(user=user, account=account, fields=[*clean, *user_values])


def _lock_for_new_accounts(domain: Domain, count: int) -> Organization:
    """The organization, locked, once it is known to have room for `count` more accounts."""
    org = lock_organization(domain.organization_id)
    if org.accounts.count() + count > org.plan.max_accounts:
        raise ValidationError(
            _("Your plan allows at most %(max)d email accounts.") % {"max": org.plan.max_accounts}
        )
    return org


def accounts_create(
    *, domain: Domain, accounts: list[dict[str, Any]]
) -> list[EmailAccount | ValidationError]:
    """account_create for many accounts without subscription or aliases (a CSV import's
    chunk): each checked as account_create checks it (a refusal is that account's, in its
    place in the result), the plan's limit for them all at once, then saved in one INSERT
    per table and audited in one. `accounts`: account_create's keyword arguments each."""
    result: list[EmailAccount | ValidationError] = []
    built: dict[int, NewAccount] = {}  # by place in the result
    unsubscribed = subscriptions.offered_subscriptions().exists()
    for values in accounts:
        try:
            built[len(result)] = _new_account(
                domain=domain, subscription=None, unsubscribed=unsubscribed, **values
            )
            result.append(built[len(result)].account)
        except ValidationError as error:
            result.append(error)
    if not built:
        return result
    with transaction.atomic():
        org = _lock_for_new_accounts(domain, len(built))
        taken = addresses_taken([new.account.address for new in built.values()])
        for place, new in list(built.items()):
            address = new.account.address
            if address in taken:
                del built[place]
                result[place] = ValidationError(
                    _("%(address)s is already in use.") % {"address": address}
                )
            taken.add(address)  # a second row of the same address
        fresh = list(built.values())
        users = User.objects.bulk_create([new.user for new in fresh])
        for new, user in zip(fresh, users, strict=True):
            new.account.user = user
            new.account.organization = org
        EmailAccount.objects.bulk_create([new.account for new in fresh])
        Domain.add_to_counters(
            domain.pk,
            accounts=len(fresh),
            storage=sum(new.account.storage_used_bytes for new in fresh),
        )
        for new in fresh:
            _enqueue(new.account)
        audit_many(action="account.create", changes=[(new.account, new.fields) for new in fresh])
    return result


def _normalize_aliases(values: Iterable[str], *, own: str) -> list[str]:
    result: list[str] = []
    for value in values:
        alias = normalize_address(value)
        if alias == own:
            raise ValidationError({"aliases": _("An alias cannot be the account's own address.")})
        if alias in result:
            raise ValidationError(
                {"aliases": _("%(address)s is listed twice.") % {"address": alias}}
            )
        result.append(alias)
    return result


def ensure_modifiable(account: EmailAccount) -> None:
    if account.deleting:
        raise ValidationError(_("This account is being deleted."))
    if not account.is_active:
        raise ValidationError(
            _("This account is deactivated: reactivate it before changing its settings.")
        )


def update_plan(*, account: EmailAccount, values: dict[str, Any]) -> tuple[dict, list[str]]:
    """The checks of a settings change: the values cleaned and the names of those that
    differ from what the account holds (ValidationError or PermissionDenied if refused)."""
    ensure_modifiable(account)
    clean = validate_options(
        domain=account.domain,
        address=account.address,
        values=values,
        current={name: getattr(account, name) for name in PAIRED_FIELDS},
        subscription=account.subscription,
    )
    changed = [
        k
        for k, v in clean.items()
        if getattr(account.user if k in USER_FIELDS else account, k) != v
    ]
    if CREDENTIAL_FIELDS & set(changed):
        check_credentials_change(account)
    return clean, changed


def account_update(*, account: EmailAccount, values: dict[str, Any]) -> list[str]:
    """Apply changed settings; return the names of the fields that changed."""
    clean, changed = update_plan(account=account, values=values)
    if not changed:
        return []
    with transaction.atomic():
        for name in changed:
            setattr(account.user if name in USER_FIELDS else account, name, clean[name])
        account_fields = [f for f in changed if f not in USER_FIELDS]
        user_fields = [f for f in changed if f in USER_FIELDS]
        if {"first_name", "last_name"} & set(changed):
            account.user.first_name, account.user.last_name = account.first_name, account.last_name
            user_fields += ["first_name", "last_name"]
        if "api_access" in changed and not account.api_access:
            account.user.tokens_revoked_at = timezone.now()  # they stay dead if turned on again
            user_fields.append("tokens_revoked_at")
        if user_fields:
            account.user.save(update_fields=user_fields)
        if account_fields:
            account.save(update_fields=account_fields)
        if MAIL_FIELDS & set(changed):
            _bump(account)
        audit(action="account.update", obj=account, fields=changed)
    return changed


# Settings a bulk job may give many accounts at once (accounts.bulk): account fields only.
BULK_FIELDS = frozenset({"quota_mb", "services", "daily_send_limit"})


def accounts_update(
    *, accounts: list[EmailAccount], values: dict[str, Any]
) -> dict[int, list[str] | ValidationError]:
    """account_update for many accounts given the same values (a bulk job's chunk), each
    checked as account_update checks it, written in one UPDATE per set of fields changed,
    audited in one INSERT. Per account: the fields changed, or the refusal."""
    if not set(values) <= BULK_FIELDS:
        raise ValueError(f"not a bulk setting: {sorted(set(values) - BULK_FIELDS)}")
    result: dict[int, list[str] | ValidationError] = {}
    groups: dict[tuple[str, ...], list[EmailAccount]] = {}
    for account in accounts:
        try:
            clean, changed = update_plan(account=account, values=values)
        except ValidationError as error:
            result[account.pk] = error
            continue
        result[account.pk] = changed
        if changed:
            for name in changed:
                setattr(account, name, clean[name])
            groups.setdefault(tuple(changed), []).append(account)
    with transaction.atomic():
        for changed, group in groups.items():
            fields = {name: getattr(group[0], name) for name in changed}
            pks = [account.pk for account in group]
            if MAIL_FIELDS & set(changed):
                bump = group[0].bump_fields()
                EmailAccount.objects.filter(pk__in=pks).update(**fields, **bump)
                versions = dict(
                    EmailAccount.objects.filter(pk__in=pks).values_list("pk", "desired_version")
                )
                for account in group:
                    account.desired_version = versions[account.pk]
                    _enqueue(account)
            else:
                EmailAccount.objects.filter(pk__in=pks).update(**fields)
        audit_many(
            action="account.update",
            changes=[(a, list(changed)) for changed, group in groups.items() for a in group],
        )
    return result


def check_password_change(
    *,
    account: EmailAccount,
    password: str | None,
    by_admin: bool = True,
    actor: User | None = None,
) -> None:
    """What account_set_password checks before it writes (PermissionDenied or
    ValidationError), for a form that must refuse before it saves."""
    check_credentials_change(account, user=actor)
    ensure_modifiable(account)
    if password is not None:
        check_password_policy(user=account.user, password=password, by_admin=by_admin)


def account_set_password(
    *,
    account: EmailAccount,
    password_hash: str = "",
    force_change: bool | None = None,
    password: str | None = None,
    by_admin: bool = True,
    actor: User | None = None,
) -> None:
    """A new mailbox password reaches the mail system at once (Dovecot keeps no auth cache).
    Given the plain `password`, the security policy (strength, reuse, "disable password
    change" for the user, not the admin) is checked first; only its hash is kept. `actor`:
    who sets it (default: whoever acts in this request), under the privilege rule."""
    check_password_change(account=account, password=password, by_admin=by_admin, actor=actor)
    if password is not None:
        password_hash = make_password(password)
    if not password_hash:
        raise ValidationError(_("Type a password or generate one."))
    with transaction.atomic():
        remember_password(user=account.user)
        audit(action="account.password", obj=account)
        account.user.password = password_hash
        account.user.password_changed_at = timezone.now()
        account.user.save(update_fields=["password", "password_changed_at"])
        if force_change is not None:
            account.force_password_change = force_change
            account.save(update_fields=["force_password_change"])
        _bump(account)


def user_set_password(
    *, user: User, password: str, action: str = "password.change", organization_id=None
) -> None:
    """The person's own new password (a change or a recovery): every policy applies. A mailbox
    owner's password is the mailbox password, so it reaches the mail system."""
    account = getattr(user, "mailbox", None)
    if account is not None:
        account_set_password(
            account=account, password=password, by_admin=False, force_change=False, actor=user
        )
        return
    check_password_policy(user=user, password=password, by_admin=False)
    with transaction.atomic():
        remember_password(user=user)
        user.password = make_password(password)
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "password_changed_at"])
        audit(action=action, obj=user, organization_id=organization_id)


def account_deactivate(*, account: EmailAccount) -> None:
    """Offline: no login, no new mail, no changes; still counts against the plan."""
    check_credentials_change(account)  # the login signs in nowhere while deactivated
    if account.deleting or not account.is_active:
        raise ValidationError(_("This account is already deactivated."))
    _set_active(account, False)


def account_reactivate(*, account: EmailAccount) -> None:
    """An account deactivated for non-payment pays a new period from today first."""
    check_credentials_change(account)
    if account.deleting or account.is_active:
        raise ValidationError(_("This account is already active."))
    if not account.suspended_for_payment:
        _set_active(account, True)
        return
    with transaction.atomic():
        org = lock_organization(account.organization_id)
        held = (
            EmailAccount.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .get(pk=account.pk)
        )
        if held.is_active or held.deleting:
            raise ValidationError(_("This account is already active."))
        subscriptions.start_period(
            organization=org,
            account=held,
            subscription=held.subscription,
            now=timezone.now(),
            refusal=_("Top up %(amount)s to reactivate this account."),
        )
        held.save(update_fields=subscriptions.PERIOD_FIELDS)
        _set_active(held, True)
    account.refresh_from_db()


def account_suspend_for_payment(*, account: EmailAccount) -> None:
    """Renewals: deactivate an account whose subscription was not paid within the grace
    period. Nothing is deleted; reactivating it pays a new period."""
    with transaction.atomic():
        EmailAccount.objects.filter(pk=account.pk).update(suspended_for_payment=True)
        account.suspended_for_payment = True
        if account.is_active:
            _set_active(account, False)
        audit(action="account.suspend", obj=account, fields=["is_active"])


def _set_active(account: EmailAccount, active: bool) -> None:
    """Deactivation also kills the login's API tokens for good (reactivation revives none)."""
    now = timezone.now()
    with transaction.atomic():
        account.is_active = active
        account.save(update_fields=["is_active"])
        login = {"is_active": active} if active else {"is_active": False, "tokens_revoked_at": now}
        User.objects.filter(pk=account.user_id).update(**login)
        _bump(account)
        bump_groups_of(account)
        audit(action="account.reactivate" if active else "account.deactivate", obj=account)


def account_delete(*, account: EmailAccount) -> None:
    """Only a deactivated account can be deleted; the row goes once the mailbox is purged.
    The unused, prorated value of its subscription returns to the credit, exactly once (the
    account's row lock and the refund's ledger reference)."""
    check_credentials_change(account)  # the login goes with the mailbox
    if account.is_active:
        raise ValidationError(_("Deactivate the account before deleting it."))
    if account.deleting:
        return
    with transaction.atomic():
        org = lock_organization(account.organization_id)
        held = (
            EmailAccount.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .get(pk=account.pk)
        )
        if held.is_active:
            raise ValidationError(_("Deactivate the account before deleting it."))
        if held.deleting:
            return
        subscriptions.refund_unused(organization=org, account=held, now=timezone.now())
        held.deleting = True
        held.save(update_fields=["deleting", *subscriptions.PERIOD_FIELDS])
        # Off its domain's counters now (collect_usage skips a deleting account).
        Domain.add_to_counters(held.domain_id, accounts=-1, storage=-held.storage_used_bytes)
        _bump(held)
        bump_groups_of(held)
        audit(action="account.delete", obj=held)
    account.deleting = True


def alias_add(*, account: EmailAccount, address: str) -> Alias:
    ensure_modifiable(account)
    address = normalize_address(address)
    local, _at, domain_name = address.partition("@")
    local = normalize_local_part(local)
    domain = Domain.objects.filter(
        name=domain_name, organization_id=account.organization_id
    ).first()
    if domain is None:
        raise ValidationError(_("%(domain)s is not one of your domains.") % {"domain": domain_name})
    with transaction.atomic():
        held = (
            EmailAccount.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .get(pk=account.pk)
        )
        subscriptions.check_alias_limit(
            subscription=held.subscription, count=held.aliases.count() + 1
        )
        if address_taken(address):
            raise ValidationError(_("%(address)s is already in use.") % {"address": address})
        check_forward_loop(
            address=account.address,
            organization_id=account.organization_id,
            forward_to=list(account.forward_to),
            keep_copy=account.forward_keep_copy,
            new_aliases={address: account.address},
        )
        alias = Alias.objects.create(
            organization_id=account.organization_id,
            account=account,
            domain=domain,
            local_part=local,
            address=address,
        )
        _bump(account)
        audit(action="alias.add", obj=alias)
    return alias


def _create_alias(account: EmailAccount, address: str) -> Alias:
    """An alias made with its account (inside account_create's transaction)."""
    local, _at, domain_name = address.partition("@")
    local = normalize_local_part(local)
    domain = Domain.objects.filter(
        name=domain_name, organization_id=account.organization_id
    ).first()
    if domain is None:
        raise ValidationError(
            {"aliases": _("%(domain)s is not one of your domains.") % {"domain": domain_name}}
        )
    if address_taken(address):
        raise ValidationError(
            {"aliases": _("%(address)s is already in use.") % {"address": address}}
        )
    alias = Alias.objects.create(
        organization_id=account.organization_id,
        account=account,
        domain=domain,
        local_part=local,
        address=address,
    )
    audit(action="alias.add", obj=alias)
    return alias


def alias_delete(*, alias: Alias) -> None:
    ensure_modifiable(alias.account)
    with transaction.atomic():
        account = alias.account
        audit(action="alias.delete", obj=alias)
        alias.delete()
        _bump(account)


def domain_verified(*, domain: Domain) -> None:
    """Registered in accounts.apps: a domain just verified brings live its accounts, the
    aliases other accounts hold on it and its groups (a new version for each, pushed after
    commit)."""
    ids = set(domain.accounts.filter(deleting=False).values_list("pk", flat=True))
    ids |= set(Alias.objects.filter(domain=domain).values_list("account_id", flat=True))
    now = timezone.now()
    EmailAccount.objects.filter(pk__in=ids).update(
        desired_version=F("desired_version") + 1, changed_at=now
    )
    with batched_pushes({push_account: push_accounts}):
        for pk in sorted(ids):
            _enqueue_pk(pk)
    for group in Group.objects.filter(domain=domain):
        bump_group(group)


def resync(*, accounts: Iterable[EmailAccount]) -> int:
    """Staff action: push again whatever the mail system holds, even if it looks applied."""
    count = 0
    with transaction.atomic(), batched_pushes({push_account: push_accounts}):
        for account in accounts:
            _bump(account)
            count += 1
    return count


def account_change_subscription(
    *, account: EmailAccount, subscription: SubscriptionType
) -> subscriptions.Change | None:
    """Owners change an account's subscription at once: the rest of the current period is
    prorated per day (an upgrade charges the difference, a downgrade refunds it), or refused
    naming the sum missing. None when it already has this subscription."""
    ensure_modifiable(account)
    if not subscription.is_active:
        raise ValidationError({"subscription": _("This subscription is not offered.")})
    with transaction.atomic():
        org = lock_organization(account.organization_id)
        held = (
            EmailAccount.objects.select_for_update(of=("self",))
            .select_related("subscription", "domain")
            .get(pk=account.pk)
        )
        ensure_modifiable(held)
        if held.subscription_id == subscription.pk:
            return None
        old = held.subscription
        subscriptions.check_alias_limit(subscription=subscription, count=held.aliases.count())
        if old is None or not old.is_free:
            subscriptions.check_free_limit(
                organization=org, subscription=subscription, exclude_pk=held.pk
            )
        now = timezone.now()
        change = subscriptions.change_amount(
            organization=org, account=held, new=subscription, now=now
        )
        refusal = _("Top up %(amount)s to change to this subscription.")
        if old is None or held.period_start is None:
            subscriptions.start_period(
                organization=org, account=held, subscription=subscription, now=now, refusal=refusal
            )
        else:
            description = _("%(old)s → %(new)s, %(days)d of %(total)d days") % {
                "old": old.name,
                "new": subscription.name,
                "days": change.remaining_days,
                "total": change.period_days,
            }
            if change.amount > 0:
                charge(
                    organization=org,
                    amount=change.amount,
                    description=description,
                    refusal=refusal,
                    account_address=held.address,
                )
            elif change.amount < 0:
                give_back(
                    organization=org,
                    amount=-change.amount,
                    description=description,
                    account_address=held.address,
                )
            held.subscription = subscription
            held.period_price = subscription.monthly_price
        # Storage and services follow the subscription; services it newly includes are on.
        offered = [s for s in held.domain.services if s in subscription.services]
        had = set(old.services) if old is not None else set()
        held.services = [
            s
            for s in held.domain.offered_services()
            if s in offered and (s in held.services or s not in had)
        ]
        held.quota_mb = subscription.storage_mb
        held.save(update_fields=[*subscriptions.PERIOD_FIELDS, "services", "quota_mb"])
        _bump(held)
        audit(action="account.subscription", obj=held, fields=["subscription"])
    account.refresh_from_db()
    return change


def bump_groups_of(account: EmailAccount) -> None:
    """The groups an account belongs to expand differently once it is (in)active or gone."""
    for group in Group.objects.filter(members=account):
        bump_group(group)


def bump_group(group: Group) -> None:
    Group.objects.filter(pk=group.pk).update(**group.bump_fields())
    enqueue_on_commit(push_group, group.pk)


def _bump(account: EmailAccount) -> None:
    EmailAccount.objects.filter(pk=account.pk).update(**account.bump_fields())
    account.refresh_from_db(fields=["desired_version", "changed_at"])
    _enqueue(account)


def _enqueue(account: EmailAccount) -> None:
    _enqueue_pk(account.pk)


def _enqueue_pk(pk: int) -> None:
    enqueue_on_commit(push_account, pk)
