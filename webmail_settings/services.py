"""Webmail preferences and the end user's self-service. Every change the mail system must know
(autoresponder, forwarding, spam delivery) goes through accounts.services.account_update, so it
bumps desired_version and the account shows Updating until the worker applied it."""

import base64
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils.html import escape
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import EmailAccount, Group, User, UserPhoto
from domains.models import Domain
from tempusmail.tenancy import forbid

from .models import DomainWebmail, IdentityName, Signature, SignaturePolicy
from .sanitize import html_to_text, sanitize_html

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
    return (
        value.replace("\\", "\\\\")
        .replace("\r\n", "\n")
        .replace("\n", "\\n")
        .replace(",", "\\,")
        .replace(";", "\\;")
    )


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
