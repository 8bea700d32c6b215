"""Webmail preferences and the end user's self-service. Every change the mail system must know
(autoresponder, forwarding, spam delivery) goes through accounts.services.account_update, so it
bumps desired_version and the account shows Updating until the worker applied it."""

import base64
import contextlib
import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import EmailAccount, Group, User, UserPhoto
from domains.models import Domain, Organization
from tempusmail.audit import audit
from tempusmail.provisioning import enqueue_on_commit
from tempusmail.tenancy import forbid
from tempusmail.text import CONTROL, LINE_BREAK

from . import crypto, remote
from .models import (
    SMTP_PORTS,
    DomainWebmail,
    EmailService,
    EmailServiceSettings,
    ExternalMailbox,
    IdentityName,
    ImapSecurity,
    Signature,
    SignaturePolicy,
    SyncState,
)
from .presets import presets
from .remote import RemoteError, Server
from .sanitize import html_to_text, sanitize_html
from .tasks import sync_external_mailbox

PLACEHOLDERS = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "job_title",
    "phone",
    "domain",
)
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


# --- domain defaults and policy -----------------------------------------------------------


def domain_webmail(domain: Domain) -> DomainWebmail:
    """The domain's webmail settings; unsaved defaults when the admin never set them."""
    found = DomainWebmail.objects.filter(domain=domain).first()
    return found or DomainWebmail(domain=domain)


def domain_webmail_update(
    *, domain: Domain, values: dict[str, Any], apply_to_existing: bool = False
) -> DomainWebmail:
    """Save the domain's defaults; optionally overwrite every account's localization with them."""
    values = dict(values)
    values["signature_html"] = sanitize_html(values.get("signature_html") or "")
    if values["signature_html"] and not (values.get("signature_text") or "").strip():
        values["signature_text"] = html_to_text(values["signature_html"])
    if values.get("signature_policy", SignaturePolicy.NONE) != SignaturePolicy.NONE and not (
        values["signature_html"] or (values.get("signature_text") or "").strip()
    ):
        raise ValidationError(_("Write the corporate signature or turn it off."))
    with transaction.atomic():
        webmail, _created = DomainWebmail.objects.select_for_update().get_or_create(domain=domain)
        for name, value in values.items():
            setattr(webmail, name, value)
        webmail.save()
        if apply_to_existing:
            accounts = EmailAccount.objects.filter(domain=domain)
            accounts.update(
                webmail_language=webmail.language,
                webmail_time_zone=webmail.time_zone,
                date_format=webmail.date_format,
                time_format=webmail.time_format,
            )
            User.objects.filter(mailbox__domain=domain).update(
                language=webmail.language, time_zone=webmail.time_zone
            )
    return webmail


# --- localization -------------------------------------------------------------------------


def preferences_update(
    *, account: EmailAccount, language: str, time_zone: str, date_format: str, time_format: str
) -> list[str]:
    """The user's own localization: the webmail's and the portal's at once."""
    return account_services.account_update(
        account=account,
        values={
            "webmail_language": language,
            "language": language,
            "webmail_time_zone": time_zone,
            "time_zone": time_zone,
            "date_format": date_format,
            "time_format": time_format,
        },
    )


# --- identities ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    address: str
    display_name: str
    primary: bool


def identities(account: EmailAccount) -> list[Identity]:
    """The account's address first, then its aliases, each with its display name."""
    names = dict(account.identity_names.values_list("address", "display_name"))
    return [
        Identity(
            address=address,
            display_name=names.get(address, account.display_name),
            primary=address == account.address,
        )
        for address in identity_addresses(account)
    ]


def identity_addresses(account: EmailAccount) -> list[str]:
    """The main address, then the aliases (read once per request and account instance)."""
    if not hasattr(account, "_identity_addresses"):
        aliases = account.aliases.values_list("address", flat=True)
        account._identity_addresses = [account.address, *aliases]
    return account._identity_addresses


def identity_rename(*, account: EmailAccount, address: str, display_name: str) -> None:
    if address not in identity_addresses(account):
        raise ValidationError(_("This is not one of your addresses."))
    IdentityName.objects.update_or_create(
        account=account, address=address, defaults={"display_name": display_name.strip()}
    )


# --- signatures ---------------------------------------------------------------------------


def ensure_signatures_editable(account: EmailAccount) -> None:
    if domain_webmail(account.domain).signature_policy == SignaturePolicy.MANDATORY:
        raise forbid(_("Your administrator set a mandatory corporate signature."))


def signature_save(
    *,
    account: EmailAccount,
    signature: Signature | None = None,
    identity: str,
    name: str,
    html: str,
    text: str,
    is_default: bool,
    bcc_sender: bool,
) -> Signature:
    """Create or change a signature: HTML sanitized, text derived when empty, one default per
    identity."""
    ensure_signatures_editable(account)
    if identity not in identity_addresses(account):
        raise ValidationError(_("This is not one of your addresses."))
    clean_html = sanitize_html(html)
    clean_text = text.strip() or html_to_text(clean_html)
    if not (clean_html or clean_text):
        raise ValidationError(_("A signature needs an HTML or a plain-text body."))
    with transaction.atomic():
        # One writer per account at a time: two "set as default" must not both succeed.
        EmailAccount.objects.select_for_update().filter(pk=account.pk).exists()
        if is_default:
            others = Signature.objects.filter(account=account, identity=identity, is_default=True)
            if signature is not None and signature.pk:
                others = others.exclude(pk=signature.pk)
            others.update(is_default=False)
        signature = signature or Signature(account=account)
        signature.identity = identity
        signature.name = name.strip()
        signature.html = clean_html
        signature.text = clean_text
        signature.is_default = is_default
        signature.bcc_sender = bcc_sender
        signature.save()
    return signature


def signature_delete(*, signature: Signature) -> None:
    ensure_signatures_editable(signature.account)
    signature.delete()


def _placeholder_values(account: EmailAccount) -> dict[str, str]:
    user = account.user
    return {
        "first_name": account.first_name,
        "last_name": account.last_name,
        "full_name": account.display_name,
        "email": account.address,
        "job_title": user.job_title,
        "phone": user.phone,
        "domain": account.domain.display_name,
    }


def render_corporate(webmail: DomainWebmail, account: EmailAccount) -> dict[str, str]:
    """The domain's template filled in for one account. Values are HTML-escaped in the HTML
    body, and the result is sanitized again (a value must not turn into a link scheme)."""
    values = _placeholder_values(account)
    html = _PLACEHOLDER.sub(lambda m: escape(values[m.group(1)]), webmail.signature_html)
    text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], webmail.signature_text)
    return {"html": sanitize_html(html), "text": text.strip()}


@dataclass(frozen=True)
class EffectiveSignatures:
    policy: str
    corporate: dict[str, str] | None
    signatures: list[Signature]
    defaults: dict[str, int | str | None]  # identity -> signature id, "corporate" or None


def effective_signatures(account: EmailAccount) -> EffectiveSignatures:
    """What the webmail offers per identity once the domain's policy is applied."""
    webmail = domain_webmail(account.domain)
    policy = webmail.signature_policy
    corporate = render_corporate(webmail, account) if policy != SignaturePolicy.NONE else None
    mine = [] if policy == SignaturePolicy.MANDATORY else list(account.signatures.all())
    defaults: dict[str, int | str | None] = {}
    for address in identity_addresses(account):
        own = next((s.pk for s in mine if s.identity == address and s.is_default), None)
        defaults[address] = own or ("corporate" if corporate else None)
    return EffectiveSignatures(policy, corporate, mine, defaults)


# --- company address book -----------------------------------------------------------------


def details_update(*, account: EmailAccount, values: dict[str, Any]) -> list[str]:
    """The user's own personal data, by the same rules as the admin's Master data."""
    return account_services.account_update(account=account, values=values)


def address_book_groups(domain: Domain, *, q: str = "") -> QuerySet[Group]:
    """The groups on the domain, listed with the people (mail to one reaches its members)."""
    active = EmailAccount.objects.filter(is_active=True, deleting=False).only("pk", "address")
    groups = (
        Group.objects.filter(domain=domain)
        .only("pk", "name", "address")
        .prefetch_related(Prefetch("members", queryset=active, to_attr="active_members"))
        .order_by("name")
    )
    if q:
        groups = groups.filter(Q(name__icontains=q) | Q(address__icontains=q))
    return groups


def address_book(domain: Domain, *, q: str = "") -> QuerySet[EmailAccount]:
    """The domain's visible, active accounts; hidden ones appear nowhere."""
    entries = (
        EmailAccount.objects.filter(
            domain=domain, in_address_book=True, is_active=True, deleting=False
        )
        .select_related("user")
        .only(
            "pk",
            "address",
            "first_name",
            "last_name",
            "domain_id",
            "user__job_title",
            "user__phone",
            "user__photo_updated_at",
        )
        .order_by("last_name", "first_name", "address")
    )
    if q:
        entries = entries.filter(
            Q(address__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(user__job_title__icontains=q)
        )
    return entries


def _vcard_escape(value: str) -> str:
    """RFC 6350 3.4: backslash, comma and semicolon escaped; every line break (CRLF, a lone
    CR or LF, and the other Unicode ones) becomes \\n, so a value never starts a line (a
    forged property or card). Other control characters are dropped."""
    value = LINE_BREAK.sub("\n", value.replace("\r\n", "\n"))
    value = CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")


def _fold(line: str) -> str:
    """RFC 6350 3.2: lines longer than 75 octets continue on CRLF + space, never splitting a
    UTF-8 sequence."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode())
        limit = 75 if not out else 74  # continuation lines start with the folding space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def vcards(entries, *, organization: str = "", groups=()) -> str:
    """vCard 4.0 for each address book entry (with its photo), then each group (KIND:group
    with its members), CRLF line endings."""
    lines: list[str] = []
    entries = list(entries)
    photos = dict(
        UserPhoto.objects.filter(
            user_id__in=[e.user_id for e in entries if e.user.photo_updated_at]
        ).values_list("user_id", "data")
    )
    for entry in entries:
        full_name = entry.display_name or entry.address
        card = [
            "BEGIN:VCARD",
            "VERSION:4.0",
            f"UID:mailto:{entry.address}",
            f"FN:{_vcard_escape(full_name)}",
            f"N:{_vcard_escape(entry.last_name)};{_vcard_escape(entry.first_name)};;;",
            f"EMAIL;TYPE=work:{_vcard_escape(entry.address)}",
        ]
        if organization:
            card.append(f"ORG:{_vcard_escape(organization)}")
        if entry.user.job_title:
            card.append(f"TITLE:{_vcard_escape(entry.user.job_title)}")
        if entry.user.phone:
            card.append(f"TEL;VALUE=text;TYPE=work:{_vcard_escape(entry.user.phone)}")
        if entry.user_id in photos:
            encoded = base64.b64encode(bytes(photos[entry.user_id])).decode()
            card.append(f"PHOTO:data:image/jpeg;base64,{encoded}")
        card.append("END:VCARD")
        lines += [_fold(line) for line in card]
    for group in groups:
        card = [
            "BEGIN:VCARD",
            "VERSION:4.0",
            "KIND:group",
            f"UID:mailto:{group.address}",
            f"FN:{_vcard_escape(group.name)}",
            f"EMAIL;TYPE=work:{_vcard_escape(group.address)}",
        ]
        if organization:
            card.append(f"ORG:{_vcard_escape(organization)}")
        card += [f"MEMBER:mailto:{m.address}" for m in group.active_members]
        card.append("END:VCARD")
        lines += [_fold(line) for line in card]
    return "".join(line + "\r\n" for line in lines)


# --- self-service -------------------------------------------------------------------------


def autoresponder_update(*, account: EmailAccount, values: dict[str, Any]) -> list[str]:
    return account_services.account_update(account=account, values=values)


def forwarding_allowed(account: EmailAccount) -> bool:
    return domain_webmail(account.domain).allow_user_forwarding


def ensure_forwarding_allowed(account: EmailAccount) -> None:
    """Users forward their own mail only when the admin allows it (domain webmail settings)."""
    if not forwarding_allowed(account):
        raise forbid(_("Your administrator does not allow you to set forwarding."))


def forwarding_update(
    *, account: EmailAccount, forward_to: list[str], keep_copy: bool
) -> list[str]:
    ensure_forwarding_allowed(account)
    return account_services.account_update(
        account=account, values={"forward_to": forward_to, "forward_keep_copy": keep_copy}
    )


def spam_update(*, account: EmailAccount, spam_to_inbox: bool) -> list[str]:
    return account_services.account_update(account=account, values={"spam_to_inbox": spam_to_inbox})


# --- for the webmail ----------------------------------------------------------------------

ADDRESS_BOOK_LIMIT = 5000


def effective_settings(account: EmailAccount) -> dict[str, Any]:
    """Everything a webmail needs to apply the user's settings (docs/webmail-api.md)."""
    effective = effective_signatures(account)
    book = list(address_book(account.domain)[: ADDRESS_BOOK_LIMIT + 1])
    return {
        "account": {"address": account.address, "display_name": account.display_name},
        "localization": {
            "language": account.webmail_language,
            "time_zone": account.webmail_time_zone,
            "date_format": account.date_format,
            "time_format": account.time_format,
        },
        "identities": [
            {
                "address": identity.address,
                "display_name": identity.display_name,
                "primary": identity.primary,
                "default_signature": effective.defaults[identity.address],
            }
            for identity in identities(account)
        ],
        "signature_policy": effective.policy,
        "corporate_signature": effective.corporate,
        "signatures": [
            {
                "id": s.pk,
                "identity": s.identity,
                "name": s.name,
                "html": s.html,
                "text": s.text,
                "is_default": s.is_default,
                "bcc_sender": s.bcc_sender,
            }
            for s in effective.signatures
        ],
        "address_book": [
            {
                "name": entry.display_name,
                "email": entry.address,
                "job_title": entry.user.job_title,
                "phone": entry.user.phone,
            }
            for entry in book[:ADDRESS_BOOK_LIMIT]
        ],
        "address_book_truncated": len(book) > ADDRESS_BOOK_LIMIT,
        "self_service": {
            "forwarding_allowed": forwarding_allowed(account),
            "spam_to_inbox": account.spam_to_inbox,
            "autoresponder": account.autoreply_enabled,
        },
    }


# --- the email service catalog (Administration › Email service settings, seed 004) --------


def catalog_settings(organization: Organization) -> EmailServiceSettings:
    """The organization's catalog policy; on first use its catalog is filled with the presets
    (each organization owns its copy: owners may edit, hide or delete them)."""
    found = EmailServiceSettings.objects.filter(organization=organization).first()
    if found is not None and found.presets_loaded:
        return found
    with transaction.atomic():
        found, _created = EmailServiceSettings.objects.select_for_update().get_or_create(
            organization=organization
        )
        if not found.presets_loaded:
            taken = set(organization.email_services.values_list("name", flat=True))
            EmailService.objects.bulk_create(
                _preset_service(organization, preset)
                for preset in presets()
                if preset.name not in taken
            )
            found.presets_loaded = True
            found.save(update_fields=["presets_loaded"])
    return found


def _preset_service(organization: Organization, preset) -> EmailService:
    imap, smtp = remote.parse_server(preset.imap), remote.parse_server(preset.smtp)
    return EmailService(
        organization=organization,
        name=preset.name,
        preset=preset.key,
        imap_host=imap.host,
        imap_port=imap.port,
        imap_security=preset.imap_security,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_tls=preset.smtp_tls,
    )


def catalog_services(organization: Organization) -> QuerySet[EmailService]:
    """Every service of the catalog, hidden ones too, with how many users connect through it."""
    catalog_settings(organization)
    return organization.email_services.annotate(users=Count("connections")).order_by("name", "pk")


def catalog_settings_update(*, organization: Organization, allow_manual: bool) -> bool:
    """Turning manual entry off removes "Other" for new connections; existing ones keep
    working (seed 004)."""
    current = catalog_settings(organization)
    if current.allow_manual == allow_manual:
        return False
    current.allow_manual = allow_manual
    current.save(update_fields=["allow_manual"])
    audit(action="email_services.settings", obj=current, fields=["allow_manual"])
    return True


def _literal_address_refused(host: str) -> str | None:
    """An address written as such is judged at once (a name is judged when it is used)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    if remote.address_allowed(host):
        return None
    return _(
        "%(host)s is a loopback, private or internal address: connections there are not allowed."
    ) % {"host": host}


def validate_servers(*, imap: Server, imap_security: str, smtp: Server, smtp_tls: bool) -> None:
    """The seed's rules: SMTP on port 25, 465 or 587 (465 is TLS from the start); and no
    address that the SSRF rule refuses."""
    errors = {}
    if smtp.port not in SMTP_PORTS:
        errors["smtp_server"] = _("The SMTP port must be 25, 465 or 587.")
    elif smtp.port == remote.IMPLICIT_TLS_PORT and not smtp_tls:
        errors["smtp_tls"] = _("Port 465 is encrypted from the start: check Use TLS.")
    if imap_security not in ImapSecurity.values:
        errors["imap_security"] = _("Choose No, STARTTLS or TLS.")
    for field, server in (("imap_server", imap), ("smtp_server", smtp)):
        refused = _literal_address_refused(server.host)
        if refused and field not in errors:
            errors[field] = refused
    if errors:
        raise ValidationError(errors)


def email_service_save(
    *,
    organization: Organization,
    service: EmailService | None = None,
    name: str,
    imap: Server,
    imap_security: str,
    smtp: Server,
    smtp_tls: bool,
) -> EmailService:
    """Add a service, or change one: its users' connections follow without reconnecting."""
    name = name.strip()
    validate_servers(imap=imap, imap_security=imap_security, smtp=smtp, smtp_tls=smtp_tls)
    same_name = organization.email_services.filter(name__iexact=name)
    if service is not None:
        same_name = same_name.exclude(pk=service.pk)
    if same_name.exists():
        raise ValidationError({"name": _("The catalog already has a service with this name.")})
    creating = service is None
    service = service or EmailService(organization=organization)
    values = {
        "name": name,
        "imap_host": imap.host,
        "imap_port": imap.port,
        "imap_security": imap_security,
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_tls": smtp_tls,
    }
    changed = [k for k, v in values.items() if getattr(service, k) != v]
    for key, value in values.items():
        setattr(service, key, value)
    with transaction.atomic():
        service.save()
        if changed:
            audit(
                action="email_service.create" if creating else "email_service.update",
                obj=service,
                fields=changed,
            )
    return service


def email_service_users(service: EmailService) -> list[str]:
    """Whose connections stop if the service is deleted (the seed's confirmation window)."""
    return sorted(set(service.connections.values_list("account__address", flat=True).order_by()))


def email_service_delete(*, service: EmailService) -> list[str]:
    """Delete the service: its users' syncs stop with a notice in their portal; the mail
    already imported stays in their mailboxes."""
    with transaction.atomic():
        users = email_service_users(service)
        service.connections.update(
            state=SyncState.STOPPED,
            service_name=service.name,
            last_error_code="service_removed",
            last_error_params={"name": service.name},
            last_error_at=timezone.now(),
            next_sync_at=None,
        )
        audit(action="email_service.delete", obj=service)
        service.delete()  # connections keep their row, service set to NULL
    return users


def email_service_set_hidden(*, service: EmailService, hidden: bool) -> bool:
    """Hidden: not offered for new connections; existing connections keep syncing."""
    if service.hidden == hidden:
        return False
    service.hidden = hidden
    service.save(update_fields=["hidden", "updated_at"])
    audit(action="email_service.hide" if hidden else "email_service.unhide", obj=service)
    return True


# --- external mailboxes (the user's side) ---------------------------------------------------

MANUAL = "other"
MAX_CONNECTIONS = 10
TESTS_PER_WINDOW, TEST_WINDOW = 20, 600


def offered_services(account: EmailAccount) -> QuerySet[EmailService]:
    """What the user may choose for a new connection: the organization's visible services."""
    catalog_settings(account.organization)
    return EmailService.objects.filter(organization_id=account.organization_id, hidden=False)


def manual_allowed(account: EmailAccount) -> bool:
    return catalog_settings(account.organization).allow_manual


@dataclass(frozen=True)
class Servers:
    """Where a new connection goes: a catalog service's servers or the ones typed for Other."""

    service: EmailService | None
    imap: Server
    imap_security: str
    smtp: Server
    smtp_tls: bool


def choose_servers(
    *,
    account: EmailAccount,
    choice: str,
    imap: Server | None = None,
    imap_security: str = "",
    smtp: Server | None = None,
    smtp_tls: bool = True,
) -> Servers:
    """The servers of the user's choice, refused (not only absent from the form) when the
    service is hidden or another organization's, or Other when manual entry is off."""
    if choice == MANUAL:
        if not manual_allowed(account):
            raise ValidationError(
                {"service": _("Your administrator does not allow entering server details.")}
            )
        if imap is None or smtp is None:
            raise ValidationError(_("Enter the IMAP and SMTP servers."))
        validate_servers(imap=imap, imap_security=imap_security, smtp=smtp, smtp_tls=smtp_tls)
        return Servers(None, imap, imap_security, smtp, smtp_tls)
    service = offered_services(account).filter(pk=int(choice) if choice.isdigit() else 0).first()
    if service is None:
        raise ValidationError({"service": _("This email service is not available.")})
    return Servers(
        service,
        Server(service.imap_host, service.imap_port),
        service.imap_security,
        Server(service.smtp_host, service.smtp_port),
        service.smtp_tls,
    )


def _throttle_tests(account: EmailAccount) -> None:
    """Each test makes the server connect somewhere: a few per user and ten minutes."""
    key = f"external-mail-tests:{account.pk}"
    cache.add(key, 0, TEST_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1
    if count > TESTS_PER_WINDOW:
        raise ValidationError(_("Too many connection tests. Wait a few minutes and try again."))


def connection_test(
    *, account: EmailAccount, servers: Servers, login: str, password: str
) -> list[remote.Check]:
    """The Test button: really log in over IMAP and check SMTP AUTH; a line per server."""
    _throttle_tests(account)
    return remote.test_servers(
        imap=servers.imap,
        imap_security=servers.imap_security,
        smtp=servers.smtp,
        smtp_tls=servers.smtp_tls,
        login=login,
        password=password,
    )


def _check_login(servers: Servers, login: str, password: str) -> None:
    try:
        client = remote.open_imap(servers.imap, servers.imap_security, login, password)
    except RemoteError as exc:
        raise ValidationError(exc.message()) from None
    with contextlib.suppress(Exception):  # the login worked; the goodbye does not matter
        client.logout()


def connection_create(
    *, account: EmailAccount, servers: Servers, login: str, password: str
) -> ExternalMailbox:
    """Connect a mailbox: the IMAP login must work; then the import starts at once."""
    login = login.strip()
    existing = ExternalMailbox.objects.filter(account=account, login__iexact=login)
    if servers.service is not None:
        existing = existing.filter(service=servers.service)
    else:
        existing = existing.filter(manual=True, imap_host=servers.imap.host)
    if existing.exists():
        raise ValidationError(_("This mailbox is already connected."))
    if ExternalMailbox.objects.filter(account=account).count() >= MAX_CONNECTIONS:
        raise ValidationError(
            _("You can connect at most %(n)s mailboxes.") % {"n": MAX_CONNECTIONS}
        )
    _throttle_tests(account)
    _check_login(servers, login, password)
    manual = servers.service is None
    connection = ExternalMailbox(
        organization_id=account.organization_id,
        account=account,
        service=servers.service,
        service_name=servers.service.name if servers.service else "",
        manual=manual,
        login=login,
        password_encrypted=crypto.encrypt(password),
        state=SyncState.QUEUED,
        next_sync_at=timezone.now(),
    )
    if manual:
        connection.imap_host, connection.imap_port = servers.imap.host, servers.imap.port
        connection.imap_security = servers.imap_security
        connection.smtp_host, connection.smtp_port = servers.smtp.host, servers.smtp.port
        connection.smtp_tls = servers.smtp_tls
    with transaction.atomic():
        connection.save()
        audit(action="external_mailbox.connect", obj=connection, fields=["login"])
        enqueue_on_commit(sync_external_mailbox, connection.pk)
    return connection


def connection_set_password(*, connection: ExternalMailbox, password: str) -> None:
    """A new password (the provider's changed): checked by logging in, then a sync starts."""
    servers = connection.servers
    if servers is None:
        raise ValidationError(remote.render_error("service_removed", connection.last_error_params))
    _throttle_tests(connection.account)
    _check_login(
        Servers(
            None,
            Server(servers.imap_host, servers.imap_port),
            servers.imap_security,
            Server(servers.smtp_host, servers.smtp_port),
            servers.smtp_tls,
        ),
        connection.login,
        password,
    )
    connection.password_encrypted = crypto.encrypt(password)
    connection.save(update_fields=["password_encrypted"])
    connection_sync_now(connection=connection)


def _ensure_active(connection: ExternalMailbox) -> None:
    if connection.state == SyncState.STOPPED or connection.servers is None:
        raise ValidationError(
            remote.render_error(connection.last_error_code, connection.last_error_params)
        )


def connection_pause(*, connection: ExternalMailbox) -> None:
    """Stops a running import after its current batch; nothing syncs until resumed."""
    _ensure_active(connection)
    ExternalMailbox.objects.filter(pk=connection.pk).update(paused=True)
    # Not running: paused at once. Running: the job sees the flag after its batch.
    ExternalMailbox.objects.filter(pk=connection.pk, lease_until__isnull=True).update(
        state=SyncState.PAUSED
    )


def connection_resume(*, connection: ExternalMailbox) -> None:
    _ensure_active(connection)
    with transaction.atomic():
        ExternalMailbox.objects.filter(pk=connection.pk).update(
            paused=False, state=SyncState.QUEUED, next_sync_at=timezone.now()
        )
        enqueue_on_commit(sync_external_mailbox, connection.pk)


def connection_sync_now(*, connection: ExternalMailbox) -> None:
    _ensure_active(connection)
    if connection.paused:
        raise ValidationError(_("The connection is paused: resume it first."))
    with transaction.atomic():
        ExternalMailbox.objects.filter(pk=connection.pk).exclude(state=SyncState.RUNNING).update(
            state=SyncState.QUEUED, next_sync_at=timezone.now()
        )
        enqueue_on_commit(sync_external_mailbox, connection.pk)


def connection_disconnect(*, connection: ExternalMailbox) -> None:
    """Forget the connection and its password; a running job stops after its batch. The mail
    already imported stays in the user's mailbox."""
    with transaction.atomic():
        audit(action="external_mailbox.disconnect", obj=connection)
        connection.delete()


@dataclass(frozen=True)
class Progress:
    """What the portal shows of a connection: done of total, rate, time left, last error."""

    connection: ExternalMailbox
    percent: int
    rate: float | None  # messages per second
    seconds_left: int | None
    error: str
    live: bool


def progress(connection: ExternalMailbox) -> Progress:
    rate = seconds_left = None
    if connection.state == SyncState.RUNNING and connection.run_started_at:
        elapsed = (timezone.now() - connection.run_started_at).total_seconds()
        if elapsed > 0 and connection.messages_done:
            rate = connection.messages_done / elapsed
            left = max(0, connection.messages_total - connection.messages_done)
            seconds_left = round(left / rate) if rate else None
    error = ""
    if connection.last_error_code:
        error = remote.render_error(connection.last_error_code, connection.last_error_params)
    return Progress(
        connection=connection,
        percent=connection.percent,
        rate=rate,
        seconds_left=seconds_left,
        error=error,
        live=connection.state in (SyncState.QUEUED, SyncState.RUNNING),
    )
