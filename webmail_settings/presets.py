"""The services every organization's catalog starts with: the provider's own servers (from
settings) and common public providers, with their published host names, ports and security.
Each organization gets its own copy on first use, which its owners may edit, hide or delete."""

from dataclasses import dataclass

from django.conf import settings

from .remote import SECURITY_STARTTLS, SECURITY_TLS, parse_server


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    imap: str
    imap_security: str
    smtp: str
    smtp_tls: bool = True


PUBLIC = (
    Preset("gmail", "Gmail", "imap.gmail.com:993", SECURITY_TLS, "smtp.gmail.com:465"),
    Preset(
        "microsoft",
        "Outlook.com / Microsoft 365",
        "outlook.office365.com:993",
        SECURITY_TLS,
        "smtp.office365.com:587",
    ),
    Preset(
        "yahoo", "Yahoo Mail", "imap.mail.yahoo.com:993", SECURITY_TLS, "smtp.mail.yahoo.com:465"
    ),
    Preset("icloud", "iCloud Mail", "imap.mail.me.com:993", SECURITY_TLS, "smtp.mail.me.com:587"),
    Preset("aol", "AOL Mail", "imap.aol.com:993", SECURITY_TLS, "smtp.aol.com:465"),
    Preset("gmx", "GMX", "imap.gmx.com:993", SECURITY_TLS, "mail.gmx.com:587"),
    Preset("zoho", "Zoho Mail", "imap.zoho.com:993", SECURITY_TLS, "smtp.zoho.com:465"),
    Preset("fastmail", "Fastmail", "imap.fastmail.com:993", SECURITY_TLS, "smtp.fastmail.com:465"),
    Preset("yandex", "Yandex Mail", "imap.yandex.com:993", SECURITY_TLS, "smtp.yandex.com:465"),
    Preset(
        "mailfence", "Mailfence", "imap.mailfence.com:993", SECURITY_TLS, "smtp.mailfence.com:465"
    ),
    Preset("aruba", "Aruba Mail", "imaps.aruba.it:993", SECURITY_TLS, "smtps.aruba.it:465"),
    Preset("libero", "Libero Mail", "imapmail.libero.it:993", SECURITY_TLS, "smtp.libero.it:465"),
    Preset("virgilio", "Virgilio Mail", "in.virgilio.it:993", SECURITY_TLS, "out.virgilio.it:465"),
    Preset("mailru", "Mail.ru", "imap.mail.ru:993", SECURITY_TLS, "smtp.mail.ru:465"),
)


def provider_preset() -> Preset | None:
    """The hosting provider's own servers, when PROVIDER_IMAP_SERVER and _SMTP_SERVER are set
    (port 993 means TLS from the start, any other STARTTLS)."""
    imap, smtp = settings.PROVIDER_IMAP_SERVER, settings.PROVIDER_SMTP_SERVER
    if not (imap and smtp):
        return None
    security = SECURITY_TLS if parse_server(imap).port == 993 else SECURITY_STARTTLS
    return Preset("provider", settings.PROVIDER_MAIL_NAME, imap, security, smtp)


def presets() -> list[Preset]:
    own = provider_preset()
    return [own, *PUBLIC] if own else list(PUBLIC)
