"""What mail clients are told: Thunderbird's autoconfig, Microsoft's Autodiscover (POX) and
Apple's configuration profile, all from MAIL_CLIENT_SERVERS.

The answer depends on the domain alone (verified domains hosted here), never on whether an
address exists, so it tells nobody which mailboxes there are; the username is Thunderbird's
%EMAILADDRESS% placeholder or the address the client itself sent. Documents are built with
XML/plist serializers, never by pasting text, and requests are parsed by defusedxml with DTDs
forbidden (no entity expansion, no external fetches).
"""

import plistlib
import re
import uuid
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

from .models import Domain, Verification
from .validators import normalize_domain_name

SECURITIES = ("SSL", "STARTTLS", "plain")
KINDS = ("imap", "pop3", "smtp")
MAX_REQUEST_BYTES = 16 * 1024
OUTLOOK_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
AUTODISCOVER_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"


@dataclass(frozen=True)
class Server:
    kind: str
    host: str
    port: int
    security: str


def servers() -> dict[str, Server]:
    configured = settings.MAIL_CLIENT_SERVERS
    result = {}
    for kind in KINDS:
        entry = configured[kind]
        if entry["security"] not in SECURITIES:
            raise ImproperlyConfigured(
                f"MAIL_{kind.upper()}_SECURITY must be one of {', '.join(SECURITIES)}"
            )
        result[kind] = Server(kind, entry["host"], int(entry["port"]), entry["security"])
    return result


def domain_part(value: str) -> str:
    """The ASCII domain of an address (or of a bare domain name), or ""."""
    value = (value or "").strip()[:320]
    name = value.rpartition("@")[2] if "@" in value else value
    try:
        return normalize_domain_name(name)
    except ValidationError:
        return ""


LOCAL_PART = re.compile(r"[a-z0-9._+-]{1,64}")


def client_address(value: str) -> str:
    """A plain address as a mail client sends it (lowercased local part and ASCII domain),
    or "" for anything else: quoted local parts and markup have no business here."""
    local, at, _domain = (value or "").strip()[:320].rpartition("@")
    name = domain_part(value)
    local = local.lower()
    if not at or not name or not LOCAL_PART.fullmatch(local):
        return ""
    return f"{local}@{name}"


def hosted_domain(value: str) -> Domain | None:
    """The verified domain hosted here for an address or a domain name; pending claims and
    unknown names are alike: None."""
    name = domain_part(value)
    if not name:
        return None
    return Domain.objects.filter(name=name, verification=Verification.VERIFIED).first()


def _text(parent: ET.Element, tag: str, value) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = str(value)
    return element


def _document(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- Thunderbird ---------------------------------------------------------------------------


def thunderbird_xml(domain: Domain) -> bytes:
    config = ET.Element("clientConfig", version="1.1")
    provider = ET.SubElement(config, "emailProvider", id=domain.name)
    _text(provider, "domain", domain.name)
    _text(provider, "displayName", settings.PROVIDER_NAME)
    _text(provider, "displayShortName", settings.PROVIDER_NAME)
    for server in servers().values():
        tag = "outgoingServer" if server.kind == "smtp" else "incomingServer"
        element = ET.SubElement(provider, tag, type=server.kind)
        _text(element, "hostname", server.host)
        _text(element, "port", server.port)
        _text(element, "socketType", server.security)
        _text(element, "username", "%EMAILADDRESS%")
        _text(element, "authentication", "password-cleartext")
    return _document(config)


# --- Microsoft Autodiscover ----------------------------------------------------------------


def autodiscover_address(body: bytes) -> str:
    """The EMailAddress of an Autodiscover request, or "" for anything else (oversized,
    malformed, with a DTD or entities)."""
    if not body or len(body) > MAX_REQUEST_BYTES:
        return ""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ET.ParseError, DefusedXmlException, ValueError):
        return ""
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.rpartition("}")[2] == "EMailAddress":
            return (element.text or "").strip()[:320]
    return ""


def autodiscover_xml(address: str) -> bytes:
    """The POX answer for an address of a hosted domain (the caller checked that)."""
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_RESPONSE)
    response = ET.SubElement(root, "Response", xmlns=OUTLOOK_RESPONSE)
    account = ET.SubElement(response, "Account")
    _text(account, "AccountType", "email")
    _text(account, "Action", "settings")
    for server in servers().values():
        protocol = ET.SubElement(account, "Protocol")
        _text(protocol, "Type", {"imap": "IMAP", "pop3": "POP3", "smtp": "SMTP"}[server.kind])
        _text(protocol, "Server", server.host)
        _text(protocol, "Port", server.port)
        _text(protocol, "LoginName", address)
        _text(protocol, "DomainRequired", "off")
        _text(protocol, "SPA", "off")
        _text(protocol, "SSL", "off" if server.security == "plain" else "on")
        _text(
            protocol,
            "Encryption",
            {"SSL": "SSL", "STARTTLS": "TLS", "plain": "None"}[server.security],
        )
        _text(protocol, "AuthRequired", "on")
        if server.kind == "smtp":
            _text(protocol, "UsePOPAuth", "off")
            _text(protocol, "SMTPLast", "off")
    return _document(root)


# --- Apple configuration profile -----------------------------------------------------------


def mobileconfig(*, address: str, display_name: str) -> bytes:
    """An unsigned profile with one IMAP account; iOS and macOS ask for the password."""
    imap, smtp = servers()["imap"], servers()["smtp"]
    ident = uuid.uuid5(uuid.NAMESPACE_URL, f"tempusmail:mail:{address}")
    profile = uuid.uuid5(uuid.NAMESPACE_URL, f"tempusmail:profile:{address}")
    prefix = ".".join(reversed((settings.PANEL_HOST or "tempusmail.invalid").split(".")))
    account = {
        "EmailAccountDescription": address,
        "EmailAccountName": display_name or address,
        "EmailAccountType": "EmailTypeIMAP",
        "EmailAddress": address,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerHostName": imap.host,
        "IncomingMailServerPortNumber": imap.port,
        "IncomingMailServerUseSSL": imap.security != "plain",
        "IncomingMailServerUsername": address,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerHostName": smtp.host,
        "OutgoingMailServerPortNumber": smtp.port,
        "OutgoingMailServerUseSSL": smtp.security != "plain",
        "OutgoingMailServerUsername": address,
        "OutgoingPasswordSameAsIncomingPassword": True,
        "PayloadDisplayName": address,
        "PayloadIdentifier": f"{prefix}.mail.{ident}",
        "PayloadType": "com.apple.mail.managed",
        "PayloadUUID": str(ident).upper(),
        "PayloadVersion": 1,
    }
    return plistlib.dumps(
        {
            "PayloadContent": [account],
            "PayloadDisplayName": f"{settings.PROVIDER_NAME}: {address}",
            "PayloadIdentifier": f"{prefix}.profile.{profile}",
            "PayloadRemovalDisallowed": False,
            "PayloadType": "Configuration",
            "PayloadUUID": str(profile).upper(),
            "PayloadVersion": 1,
        }
    )
