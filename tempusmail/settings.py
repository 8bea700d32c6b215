"""Settings, all read from the environment (see the configuration table in README.md)."""

import os
from pathlib import Path

import dj_database_url
import dj_email_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TEMPUSMAIL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# Development default only; production sets DJANGO_SECRET_KEY (README, configuration).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "dev-insecure-" + "x" * 50
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "tempusmail",
    "accounts",
    "domains",
    "security",
    "webmail_settings",
]

MIDDLEWARE = [
    # Before anything reads the Host header: mail clients ask autoconfig.<customer domain>.
    "domains.middleware.AutoconfigHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outermost with Django's: answers that inner middleware return early get it too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "webmail_settings.middleware.UserPreferencesMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "security.middleware.SecurityMiddleware",
    "tempusmail.text.TextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "tempusmail.urls"
WSGI_APPLICATION = "tempusmail.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "tempusmail.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web, worker and beat share one SQLite file: wait for the lock instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["TEST"] = {
        "NAME": str(VAR_DIR / f"{os.environ.get('TEST_DATABASE_NAME', 'test')}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# ModelBackend reading the mailbox with the user (accounts/backends.py). Sessions signed in
# through another backend are signed out: list only this one (each extra backend would check
# a wrong password again).
AUTHENTICATION_BACKENDS = ["accounts.backends.UserBackend"]
AUDIT_EVENT_MODEL = "security.AuditEvent"  # written by tempusmail.audit, below every app
API_AUTHENTICATOR = "security.tokens.authenticate_token"  # used by tempusmail.api
PASSWORD_HASHERS = [
    # Django's argon2 hasher with the parameters measured for mail logins (accounts/hashers.py).
    "accounts.hashers.MailArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("it", _("Italian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
WHITENOISE_USE_FINDERS = True  # serve static/ directly until collectstatic ran
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Keeps several runs sharing one Redis apart (tests set it per run; login throttling counters).
CACHES["default"]["KEY_PREFIX"] = os.environ.get("CACHE_KEY_PREFIX", "")

# Sending limits: the Redis the Postfix policy service counts in (tempusmail/policy/).
POLICY_REDIS_URL = os.environ.get("POLICY_REDIS_URL") or REDIS_URL or "redis://127.0.0.1:6379/0"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Celery: the embedded default is kombu's filesystem transport (no broker server).
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": 3600}
)
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down must not hang a request: fail fast, the reconciler re-enqueues.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Re-check pending domains' ownership and verified domains' DNS health (docs/dns.md).
DOMAIN_VERIFY_INTERVAL = int(os.environ.get("DOMAIN_VERIFY_INTERVAL", "300"))
DNS_HEALTH_INTERVAL = int(os.environ.get("DNS_HEALTH_INTERVAL", str(6 * 3600)))
CELERY_BEAT_SCHEDULE = {
    "reconcile": {"task": "accounts.tasks.reconcile", "schedule": 30.0},
    "collect-usage": {"task": "accounts.tasks.collect_usage", "schedule": 300.0},
    "collect-sent-days": {"task": "domains.tasks.collect_sent_days", "schedule": 300.0},
    "verify-pending-domains": {
        "task": "domains.tasks.verify_pending",
        "schedule": float(DOMAIN_VERIFY_INTERVAL),
    },
    "check-dns-health": {"task": "domains.tasks.check_dns_all", "schedule": 1800.0},
    "renew-subscriptions": {"task": "accounts.renew_subscriptions", "schedule": 900.0},
    "resume-bulk-jobs": {"task": "accounts.resume_bulk_jobs", "schedule": 30.0},
}
# Task modules besides each app's tasks.py (renewals use the account services, which
# enqueue through accounts.tasks: a tasks.py importing them would be a cycle).
CELERY_IMPORTS = ["accounts.renewals", "accounts.bulk"]
# CSV imports of accounts (docs/csv-import.md): the largest file and the most rows accepted.
ACCOUNT_IMPORT_MAX_BYTES = int(os.environ.get("ACCOUNT_IMPORT_MAX_BYTES", str(10 * 1024 * 1024)))
ACCOUNT_IMPORT_MAX_ROWS = int(os.environ.get("ACCOUNT_IMPORT_MAX_ROWS", "50000"))
# Anything not applied this many seconds after its change is re-enqueued by the reconciler.
RECONCILE_AFTER_SECONDS = int(os.environ.get("RECONCILE_AFTER_SECONDS", "60"))
# Accounts a bulk job or CSV import handles per transaction and per push task (accounts.bulk).
BULK_CHUNK_SIZE = int(os.environ.get("BULK_CHUNK_SIZE", "200"))

# Billing (docs/billing.md): days an account whose renewal could not be paid stays active;
# the payment provider's webhook secret (empty: the webhook refuses everything) and how old
# its signed timestamp may be.
BILLING_GRACE_DAYS = int(os.environ.get("BILLING_GRACE_DAYS", "7"))
BILLING_WEBHOOK_SECRET = os.environ.get("BILLING_WEBHOOK_SECRET", "")
BILLING_WEBHOOK_TOLERANCE = int(os.environ.get("BILLING_WEBHOOK_TOLERANCE", "300"))

# The mail backend adapter: "memory" (tests) or "dovecot" (production).
MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "memory")

# The Dovecot/Postfix adapter (README, "The mail stack"): the mail directory both servers
# read (SQLite file or PostgreSQL URL), the root holding mail, Sieve scripts and state, and
# the doveadm binary and Dovecot config it runs against (`make mailstack` renders that file).
MAIL_ROOT = Path(os.environ.get("MAIL_ROOT", VAR_DIR / "mail"))
MAIL_DIRECTORY_URL = os.environ.get("MAIL_DIRECTORY_URL", f"sqlite:///{MAIL_ROOT}/directory.db")
DOVEADM = os.environ.get("DOVEADM", "doveadm")
DOVECOT_CONFIG = os.environ.get("DOVECOT_CONFIG", str(VAR_DIR / "mailstack" / "dovecot.conf"))


# The mail hosts (docs/operations.md): each Dovecot's doveadm HTTP API, as "name=url" entries
# separated by spaces or commas ("mx1=http://10.0.0.11:10808 mx2=http://10.0.0.12:10808"),
# all with DOVEADM_API_KEY. Every push is confirmed by every host; a host that does not answer
# keeps the account Updating, named in its error, until a retry (or the reconciler's) reaches
# it. Empty: the one Dovecot on this machine, through DOVEADM and DOVECOT_CONFIG.
# Unset: what `make mailstack` wrote into var/ for its one host (its API on 127.0.0.1:10808).
def _dev_value(name: str) -> str:
    path = VAR_DIR / name
    return path.read_text().strip() if path.is_file() else ""


DOVEADM_HOSTS = os.environ.get("DOVEADM_HOSTS", _dev_value("doveadm-hosts"))
DOVEADM_API_KEY = os.environ.get("DOVEADM_API_KEY", _dev_value("doveadm-api-key"))
# Prosody's admin endpoint (deploy/prosody, mod_tempusmail_admin): a user whose XMPP access goes
# has the open chat sessions closed there. Empty: no XMPP server to tell. Unset: what
# `make mailstack` wrote into var/ for its Prosody.
XMPP_ADMIN_URL = os.environ.get("XMPP_ADMIN_URL", _dev_value("xmpp-admin-url"))
XMPP_ADMIN_KEY = os.environ.get("XMPP_ADMIN_KEY", _dev_value("xmpp-admin-key"))
# Behind a Dovecot proxy: the hosts' addresses (as the proxy reaches them) a new mailbox is
# stored on, one chosen per address; written to the directory's mailbox.host column, which the
# proxy's passdb answers as its `host` field. Empty: no column value (one host).
MAIL_STORAGE_HOSTS = os.environ.get("MAIL_STORAGE_HOSTS", "")
DOVEADM_TIMEOUT = float(os.environ.get("DOVEADM_TIMEOUT", "10"))
# DKIM private keys for rspamd (README, "The mail stack"): one file per domain and selector plus
# the active-selector map, readable by the filter's group (empty: the worker's own group).
DKIM_KEY_DIR = Path(os.environ.get("DKIM_KEY_DIR", MAIL_ROOT / "dkim"))
DKIM_KEY_GROUP = os.environ.get("DKIM_KEY_GROUP", "_rspamd")

# Shared with the webmail and DAV servers: they read users' effective settings with it
# (docs/services.md). Empty: that endpoint answers 401 to everybody. `make mailstack` writes
# one into var/services-api-key for development, read here when the variable is unset.
_SERVICES_KEY_FILE = VAR_DIR / "services-api-key"
SERVICES_API_KEY = os.environ.get("SERVICES_API_KEY") or (
    _SERVICES_KEY_FILE.read_text().strip() if _SERVICES_KEY_FILE.is_file() else ""
)

# Mail the panel sends (recovery links, notices), from EMAIL_URL (dj-email-url), e.g.
# submission://user%40example.com:password@mail.example.com:587 (SMTP AUTH after STARTTLS),
# smtp://host:465?ssl=True (implicit TLS), smtp://host:25, console:// (printed).
# Unset: the console under DEBUG (make run prints the mail), else the local MTA on port 25.
EMAIL_URL = os.environ.get("EMAIL_URL") or ("console://" if DEBUG else "smtp://localhost:25")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "TempusMail <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 10  # a mail server that hangs must not hang the request
globals().update({k: v for k, v in dj_email_url.parse(EMAIL_URL).items() if v is not None})

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- security: login protection, 2FA, IP restrictions, headers ------------------
# Proxies whose X-Forwarded-For is believed (addresses or CIDR classes, comma-separated).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
SESSION_IDLE_TIMEOUT = int(os.environ.get("SESSION_IDLE_TIMEOUT", "1800"))
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT  # renewed while active (security.middleware)
LOGIN_FAILURES_PER_IP = int(os.environ.get("LOGIN_FAILURES_PER_IP", "20"))
LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5"))
LOGIN_FAILURE_WINDOW = int(os.environ.get("LOGIN_FAILURE_WINDOW", "900"))
# Staff always need 2FA outside development; DEBUG (make run) keeps the demo usable.
STAFF_REQUIRE_2FA = env_bool("STAFF_REQUIRE_2FA", not DEBUG)
OTP_TOTP_ISSUER = "TempusMail"
# No per-device delay after wrong codes: whoever has the password could lock the owner out of
# their second factor. Wrong codes are limited per sign-in and per client (security.services).
OTP_TOTP_THROTTLE_FACTOR = 0
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
# Thunderbird asks http://autoconfig.<domain>/ (no certificate for every customer domain).
SECURE_REDIRECT_EXEMPT = [r"^mail/config-v1\.1\.xml$"]
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_HTTPS_PROXY", False) else None
)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# Only the header directive: submitting the domain to the preload list stays a manual step.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", SECURE_HSTS_SECONDS >= 31536000)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# --- domains (issue 8): ownership, DNS health, DKIM, reserved addresses, autoconfig ---------
# The provider's own names: refused as tenant domains (with everything under their
# registrable domain), named in the records tenants publish, advertised to mail clients.
PANEL_HOST = os.environ.get("PANEL_HOST", "panel.tempusmail.test").strip().lower()
MAIL_HOSTNAME = os.environ.get("MAIL_HOSTNAME", "mail.tempusmail.test").strip().lower()
RESERVED_DOMAINS = [d.lower().rstrip(".") for d in env_list("RESERVED_DOMAINS")]
# The resolver that ownership and health checks ask: empty = the system's (/etc/resolv.conf).
DNS_RESOLVERS = env_list("DNS_RESOLVERS")
DNS_PORT = int(os.environ.get("DNS_PORT", "53"))
DNS_TIMEOUT = float(os.environ.get("DNS_TIMEOUT", "4"))
# The ownership record: TXT "<DOMAIN_VERIFY_PREFIX>=<token>" at <DOMAIN_VERIFY_LABEL>.<domain>.
DOMAIN_VERIFY_LABEL = os.environ.get("DOMAIN_VERIFY_LABEL", "_tempusmail")
DOMAIN_VERIFY_PREFIX = os.environ.get("DOMAIN_VERIFY_PREFIX", "tempusmail-verification")
# What the DNS tab expects a domain to publish.
DNS_MX_HOSTS = [h.lower().rstrip(".") for h in env_list("DNS_MX_HOSTS", MAIL_HOSTNAME)]
DNS_SPF_RECORD = os.environ.get("DNS_SPF_RECORD", "v=spf1 mx ~all")
DNS_DMARC_RECORD = os.environ.get("DNS_DMARC_RECORD", "v=DMARC1; p=quarantine")
AUTOCONFIG_HOST = os.environ.get("AUTOCONFIG_HOST", PANEL_HOST).strip().lower()
# Secrets at rest (DKIM private keys): Fernet keys, the first encrypts, all decrypt (rotation).
# Empty: one derived from DJANGO_SECRET_KEY (development only; set it in production).
SECRETS_ENCRYPTION_KEYS = env_list("SECRETS_ENCRYPTION_KEYS")
# abuse@ of every domain goes to the provider; postmaster@ and support@ default to the owner.
PLATFORM_ABUSE_ADDRESS = os.environ.get("PLATFORM_ABUSE_ADDRESS", f"abuse@{MAIL_HOSTNAME}")
# What mail clients are told (autoconfig, Autodiscover, .mobileconfig): host, port and
# security (SSL = implicit TLS, STARTTLS, or plain) of each service.
PROVIDER_NAME = os.environ.get("PROVIDER_NAME", "TempusMail")
MAIL_CLIENT_SERVERS = {
    kind: {
        "host": os.environ.get(f"MAIL_{kind.upper()}_HOST", MAIL_HOSTNAME).strip().lower(),
        "port": int(os.environ.get(f"MAIL_{kind.upper()}_PORT", port)),
        "security": os.environ.get(f"MAIL_{kind.upper()}_SECURITY", security),
    }
    for kind, port, security in (
        ("imap", "993", "SSL"),
        ("pop3", "995", "SSL"),
        ("smtp", "465", "SSL"),
    )
}

# --- external mailboxes (webmail_settings: the email service catalog and imports) ----------
# Fernet keys for the stored passwords of external mailboxes, newest first (rotate: put a new
# key first, run `manage.py rotate_mail_secrets`, then drop the old one). Empty: one derived
# from SECRET_KEY (development).
EXTERNAL_MAIL_KEYS = env_list("EXTERNAL_MAIL_KEYS")
# Minutes between two syncs of a connected mailbox; seconds a server may take to answer (the
# Test button waits for IMAP and SMTP in the request: two of these stay under gunicorn's 30 s).
EXTERNAL_MAIL_SYNC_MINUTES = int(os.environ.get("EXTERNAL_MAIL_SYNC_MINUTES", "15"))
EXTERNAL_MAIL_TIMEOUT = float(os.environ.get("EXTERNAL_MAIL_TIMEOUT", "10"))
# Messages per second one import may copy (0: no limit): spares the other provider.
EXTERNAL_MAIL_RATE_LIMIT = float(os.environ.get("EXTERNAL_MAIL_RATE_LIMIT", "0"))
# Servers users enter may not be loopback, private, link-local or otherwise non-public, nor
# in the provider's own networks (BLOCKED); ALLOWED lists exceptions (tests, a provider
# whose servers need them). Both: CIDR classes, comma-separated.
EXTERNAL_MAIL_ALLOWED_NETWORKS = env_list("EXTERNAL_MAIL_ALLOWED_NETWORKS")
EXTERNAL_MAIL_BLOCKED_NETWORKS = env_list("EXTERNAL_MAIL_BLOCKED_NETWORKS")
# Extra CA certificates (PEM file) trusted besides the system's, e.g. a private CA.
EXTERNAL_MAIL_CA_FILE = os.environ.get("EXTERNAL_MAIL_CA_FILE", "")
# The provider's own servers, offered first in every catalog ("host:port"; empty: none).
PROVIDER_MAIL_NAME = os.environ.get("PROVIDER_MAIL_NAME", "TempusMail")
PROVIDER_IMAP_SERVER = os.environ.get("PROVIDER_IMAP_SERVER", "")
PROVIDER_SMTP_SERVER = os.environ.get("PROVIDER_SMTP_SERVER", "")
CELERY_BEAT_SCHEDULE["external-mail-sync"] = {
    "task": "webmail_settings.tasks.sync_due",
    "schedule": 60.0,
}
