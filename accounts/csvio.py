"""CSV import and export of a domain's accounts (docs/csv-import.md).

An upload is read whole (bounded by ACCOUNT_IMPORT_MAX_BYTES and ACCOUNT_IMPORT_MAX_ROWS),
decoded as UTF-8 and parsed; every row is then checked against the database as it is (the dry
run) without writing anything, and stored as a BulkJob in the PREVIEW state with one item per
row: what it would do (create, update, unchanged) or its errors (line, column, message). The
import runs that job (accounts.bulk): each row is checked again and applied through the
account services, so a row that matches what the panel holds changes nothing and re-importing
the same file is a no-op. A plain password is kept encrypted (tempusmail.crypto) until its row
has run, and is then wiped. Whether a plain password is the account's current one is never
checked (that would let an uploader test guesses): a row is "unchanged" only when the password
is the one an import set and nothing changed since (password_mark).

Exports stream (any size, a chunk of rows at a time) and neutralize spreadsheet formulas: a
cell starting with = + - @ or a tab gets a leading apostrophe, which the import takes off."""

import contextlib
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Upper
from django.http import Http404
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from domains.access import get_domain_for
from domains.models import Domain, SubscriptionType
from tempusmail.audit import audit
from tempusmail.crypto import decrypt, encrypt
from tempusmail.mailbackend.base import SERVICES

from . import services, subscriptions
from .access import NOT_YOURS, get_account_for, logins_guarded_from
from .models import Alias, BulkJob, BulkJobItem, EmailAccount, Group, User
from .validators import normalize_address, normalize_local_part

COLUMNS = (
    "address",
    "first_name",
    "last_name",
    "password",
    "password_hash",
    "storage_mb",
    "services",
    "aliases",
    "forwards",
    "subscription",
)
ALIAS_COLUMNS = ("alias", "account")
MAX_CELL = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Dovecot verifies a mailbox's hash at every mail login: a given hash may cost at most a few
# times our own (m=19 MiB, t=2), or one tenant's file could stall logins for everybody.
MAX_HASH_MEMORY_KIB = 102400
MAX_HASH_WORK = 4 * MAX_HASH_MEMORY_KIB  # memory x passes
MAX_HASH_PARALLELISM = 8


@dataclass
class Outcome:
    state: str
    errors: list[dict]


def errors_of(error: ValidationError, column: str = "") -> list[dict]:
    """A service's refusal as [{"column", "message"}]; a field it names maps to a column."""
    names = {"quota_mb": "storage_mb", "forward_to": "forwards", "local_part": "address"}
    if hasattr(error, "error_dict"):
        return [
            {
                "column": names.get(name, name) if name != "__all__" else column,
                "message": message,
            }
            for name, messages in error.message_dict.items()
            for message in messages
        ]
    return [{"column": column, "message": message} for message in error.messages]


# --- reading a file ------------------------------------------------------------------------


@dataclass
class Parsed:
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (line, values)
    errors: list[dict] = field(default_factory=list)  # errors of the file itself


def unescape(value: str) -> str:
    """A cell our export protected from formula injection comes back as it was."""
    if value.startswith("'") and value[1:2] and value[1] in FORMULA_START:
        return value[1:]
    return value


def parse(data: bytes) -> Parsed:
    """The rows of a CSV file, or what is wrong with the file as a whole."""
    parsed = Parsed()

    def fail(message: str, line: int = 0, column: str = "") -> Parsed:
        parsed.rows = []
        parsed.errors.append({"line": line, "column": column, "message": message})
        return parsed

    if len(data) > settings.ACCOUNT_IMPORT_MAX_BYTES:
        return fail(
            _("The file is larger than %(mb)s MB.")
            % {"mb": round(settings.ACCOUNT_IMPORT_MAX_BYTES / 1024 / 1024, 1)}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return fail(_("The file is not UTF-8 text (save it as CSV UTF-8)."), line)
    if "\x00" in text:
        return fail(_("The file contains NUL characters: it is not a CSV file."))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return fail(_("The file is empty."))
        names = [unescape(name).strip().lower() for name in header]
        unknown = [n for n in names if n not in COLUMNS]
        if unknown:
            return fail(
                _("Unknown column %(name)s: the columns are %(columns)s.")
                % {"name": unknown[0][:50], "columns": ", ".join(COLUMNS)},
                1,
                unknown[0][:50],
            )
        if "address" not in names:
            return fail(_("The column address is missing."), 1)
        if len(set(names)) != len(names):
            return fail(_("A column is named twice."), 1)
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            line = reader.line_num
            if len(parsed.rows) >= settings.ACCOUNT_IMPORT_MAX_ROWS:
                return fail(
                    _("The file has more than %(max)d rows: split it.")
                    % {"max": settings.ACCOUNT_IMPORT_MAX_ROWS},
                    line,
                )
            values = {name: unescape(cell) for name, cell in zip(names, cells, strict=False)}
            if len(cells) > len(names):
                values["__extra__"] = "1"
            parsed.rows.append((line, values))
    except csv.Error as error:
        return fail(_("The file is not valid CSV: %(error)s") % {"error": error}, reader.line_num)
    if not parsed.rows:
        return fail(_("The file has no rows below its header."))
    return parsed


def split_list(value: str) -> list[str]:
    """Several values in one cell: separated by spaces, commas or semicolons."""
    return [v for v in value.replace(";", " ").replace(",", " ").split() if v]


def django_hash(value: str) -> str:
    """An argon2id PHC string ($argon2id$v=19$m=..,t=..,p=..$salt$hash), also with Dovecot's
    {ARGON2ID} prefix or Django's argon2 prefix, as Django stores it."""
    phc = value.strip()
    if phc.upper().startswith("{ARGON2ID}"):
        phc = phc[len("{ARGON2ID}") :]
    if phc.startswith("argon2$"):
        phc = phc[len("argon2") :]
    try:
        parameters = extract_parameters(phc)
    except (InvalidHashError, ValueError):
        parameters = None
    if parameters is None or parameters.type.name != "ID" or not phc.startswith("$argon2id$"):
        raise ValidationError(_("Give an argon2id hash in PHC form ($argon2id$v=19$m=...)."))
    if (
        parameters.memory_cost > MAX_HASH_MEMORY_KIB
        or parameters.memory_cost * parameters.time_cost > MAX_HASH_WORK
        or parameters.parallelism > MAX_HASH_PARALLELISM
    ):
        raise ValidationError(
            _(
                "This hash costs too much to check at every mail login (at most m=%(m)d, "
                "m×t=%(work)d, p=%(p)d): give the password instead."
            )
            % {"m": MAX_HASH_MEMORY_KIB, "work": MAX_HASH_WORK, "p": MAX_HASH_PARALLELISM}
        )
    return "argon2" + phc


def password_mark(account_id: int, password_hash: str, password: str) -> str:
    """What EmailAccount.imported_password_mark holds once an import set `password` (hashed
    as `password_hash`): keyed with the server's secret, so it says nothing without it."""
    value = f"{account_id}\0{password_hash}\0{password}"
    return salted_hmac("tempusmail.csvio.password", value, algorithm="sha256").hexdigest()


def row_address(raw: str, domain: Domain) -> str:
    """The account address an address cell names (a local part alone is on `domain`)."""
    raw = raw.strip()
    local, at, _domain = raw.rpartition("@") if "@" in raw else (raw, "", "")
    local_part = normalize_local_part(local)
    if at and normalize_address(raw).partition("@")[2] != domain.name:
        raise ValidationError(
            _("The address must be on %(domain)s.") % {"domain": domain.display_name}
        )
    return f"{local_part}@{domain.name}"


def normalized(values: Iterable[str], normalize) -> set[str]:
    """The values that normalize, normalized (the others are a row's error, found later)."""
    found = set()
    for value in values:
        with contextlib.suppress(ValidationError):
            found.add(normalize(value))
    return found


# --- checking a row (the dry run, and again when it runs) -----------------------------------


@dataclass
class Row:
    """A checked row: what it would do, its errors, its values cleaned."""

    action: str = ""  # create, update, unchanged
    errors: list[dict] = field(default_factory=list)
    address: str = ""
    local_part: str = ""
    names: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    password_hash: str = ""
    password: str = ""
    account: EmailAccount | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    new_aliases: list[str] = field(default_factory=list)
    set_password: bool = False
    subscription: SubscriptionType | None = None

    def error(self, column: str, message: str) -> None:
        self.errors.append({"column": column, "message": str(message)})


class Context:
    """What checking the rows of one file needs, read in a few queries for all of them."""

    def __init__(
        self,
        domain: Domain,
        values: Iterable[dict[str, str]],
        *,
        user: User | None,
        shared: dict | None = None,
    ):
        """`user`: who imports (whose credentials of which mailboxes they may set).
        `shared`: what does not change from one row to the next of a running import
        (read once per run); the plan limit is then left to account_create, which holds
        the organization's lock."""
        self.domain = domain
        values = list(values)
        addresses = normalized(
            (row.get("address") or "" for row in values), lambda a: row_address(a, domain)
        )
        alias_addresses = normalized(
            (a for row in values for a in split_list(row.get("aliases") or "")), normalize_address
        )
        wanted = addresses | alias_addresses
        self.accounts = {
            a.address: a
            for a in EmailAccount.objects.filter(address__in=addresses)
            .select_related("user", "domain__organization__plan", "subscription")
            .prefetch_related("aliases")
        }
        self.alias_owner = dict(
            Alias.objects.filter(address__in=wanted).values_list("address", "account__address")
        )
        self.groups = set(
            Group.objects.filter(address__in=wanted).values_list("address", flat=True)
        )
        self.logins = {
            e.lower()
            for e in User.objects.annotate(upper=Upper("email"))
            .filter(upper__in=[a.upper() for a in wanted])
            .values_list("email", flat=True)
        }
        user_ids = [a.user_id for a in self.accounts.values()]
        self.guarded = logins_guarded_from(user, user_ids) if user is not None else set(user_ids)
        if shared is None or "org_domains" not in shared:
            found = {
                "org_domains": dict(
                    Domain.objects.filter(organization_id=domain.organization_id).values_list(
                        "name", "pk"
                    )
                ),
                "subscriptions": {
                    s.name.casefold(): s for s in subscriptions.offered_subscriptions()
                },
            }
            if shared is not None:
                shared.update(found)
        else:
            found = shared
        self.org_domains = found["org_domains"]
        self.subscriptions: dict[str, SubscriptionType] = found["subscriptions"]
        self.max_accounts = domain.organization.plan.max_accounts
        self.account_count = (
            EmailAccount.objects.filter(organization_id=domain.organization_id).count()
            if shared is None
            else 0
        )
        if shared is not None:
            self.max_accounts = 2**62
        self.seen: set[str] = set()
        self.creating = 0

    def offered(self) -> str:
        return ", ".join(s.name for s in self.subscriptions.values()) or "—"

    def taken_by_other(self, address: str, *, account_address: str) -> bool:
        """In use by anything but the account `account_address` (its own alias is fine)."""
        owner = self.alias_owner.get(address)
        if owner is not None:
            return owner != account_address
        held = self.accounts.get(address)
        return address in self.groups or (held is not None) or address in self.logins


def _subscription(
    cell: str, account: EmailAccount | None, ctx: Context, row: Row
) -> SubscriptionType | None:
    """The subscription a row names (by name, any case). A new account is created with it
    (its first period charged when the row runs); an account's own is changed in the panel."""
    name = cell.strip()
    if not name:
        return None
    found = ctx.subscriptions.get(name.casefold())
    if found is None:
        row.error(
            "subscription",
            _("Unknown subscription %(name)s: the subscriptions are %(names)s.")
            % {"name": name[:100], "names": ctx.offered()},
        )
    elif account is not None and account.subscription_id != found.pk:
        row.error("subscription", _("Change an account's subscription in the panel."))
    return found


def check_row(values: dict[str, str], ctx: Context) -> Row:
    row = Row()
    domain = ctx.domain
    if values.get("__extra__"):
        row.error("", _("This row has more cells than the header has columns."))
    for name, value in values.items():
        if len(value) > MAX_CELL:
            row.error(name, _("At most %(max)d characters.") % {"max": MAX_CELL})
    if row.errors:
        return row
    try:
        row.address = row_address(values.get("address") or "", domain)
    except ValidationError as error:
        row.errors += errors_of(error, "address")
        return row
    row.local_part = row.address.rpartition("@")[0]
    if row.address in ctx.seen:
        row.error("address", _("%(address)s is listed twice.") % {"address": row.address})
        return row
    ctx.seen.add(row.address)
    account = ctx.accounts.get(row.address)
    if account is not None and account.domain_id != domain.pk:
        account = None
    if account is None and ctx.taken_by_other(row.address, account_address=""):
        row.error("address", _("%(address)s is already in use.") % {"address": row.address})
    if account is not None and account.deleting:
        row.error("address", _("This account is being deleted."))
    row.account = account

    for name in ("first_name", "last_name"):
        value = " ".join((values.get(name) or "").split())
        if len(value) > 150:
            row.error(name, _("At most %(max)d characters.") % {"max": 150})
        row.names[name] = value

    password, given_hash = values.get("password") or "", (values.get("password_hash") or "")
    if password and given_hash.strip():
        row.error("password", _("Give a password or a password hash, not both."))
    elif given_hash.strip():
        try:
            row.password_hash = django_hash(given_hash)
        except ValidationError as error:
            row.errors += errors_of(error, "password_hash")
    elif password:
        try:
            if len(password) > 128:
                raise ValidationError(_("Use at most 128 characters."))
            validate_password(password, account.user if account else None)
            row.password = password
        except ValidationError as error:
            row.errors += errors_of(error, "password")
    elif account is None:
        row.error("password", _("A new account needs a password or a password hash."))
    if account is not None and given_hash.strip() + password and account.user_id in ctx.guarded:
        row.error("password_hash" if given_hash.strip() else "password", NOT_YOURS)

    row.subscription = _subscription(values.get("subscription") or "", account, ctx, row)
    options: dict[str, Any] = {}
    storage = (values.get("storage_mb") or "").strip()
    if storage:
        try:
            options["quota_mb"] = int(storage)
        except ValueError:
            row.error("storage_mb", _("Give the storage in MB, as a whole number."))
    service_cell = values.get("services")
    if service_cell is not None and service_cell.strip():
        chosen = [s.lower() for s in split_list(service_cell)]
        unknown = [s for s in chosen if s not in SERVICES]
        if unknown:
            row.error(
                "services",
                _("Unknown service %(name)s: the services are %(services)s.")
                % {"name": unknown[0][:30], "services": ", ".join(SERVICES)},
            )
        else:
            options["services"] = chosen
    if values.get("forwards") is not None and (values.get("forwards") or "").strip():
        options["forward_to"] = split_list(values["forwards"])
    # One option at a time, so a refusal that names no field still names its column.
    for name, value in options.items():
        try:
            row.options.update(
                services.validate_options(
                    domain=domain,
                    address=row.address,
                    values={name: value},
                    subscription=account.subscription if account is not None else row.subscription,
                )
            )
        except ValidationError as error:
            column = {"quota_mb": "storage_mb", "forward_to": "forwards"}.get(name, name)
            row.errors += errors_of(error, column)

    for value in split_list(values.get("aliases") or ""):
        try:
            alias = normalize_address(value)
            alias_domain = alias.partition("@")[2]
            if alias == row.address:
                raise ValidationError(_("An alias cannot be the account's own address."))
            if alias_domain not in ctx.org_domains:
                raise ValidationError(
                    _("%(domain)s is not one of your domains.") % {"domain": alias_domain}
                )
            normalize_local_part(alias.partition("@")[0])
            if alias in row.aliases or alias in ctx.seen:
                raise ValidationError(_("%(address)s is listed twice.") % {"address": alias})
            if ctx.taken_by_other(alias, account_address=row.address):
                raise ValidationError(_("%(address)s is already in use.") % {"address": alias})
        except ValidationError as error:
            row.errors += errors_of(error, "aliases")
            continue
        row.aliases.append(alias)
    ctx.seen.update(row.aliases)

    if account is None:
        if ctx.subscriptions and row.subscription is None and not row.errors:
            row.error(
                "subscription",
                _("Choose one of the subscriptions: %(names)s.") % {"names": ctx.offered()},
            )
        if ctx.account_count + ctx.creating >= ctx.max_accounts:
            row.error(
                "address",
                _("Your plan allows at most %(max)d email accounts.") % {"max": ctx.max_accounts},
            )
        if not row.errors:
            ctx.creating += 1
            row.action = "create"
        return row
    if row.errors:
        return row
    held_aliases = {a.address for a in account.aliases.all()}
    row.new_aliases = [a for a in row.aliases if a not in held_aliases]
    row.changes = {
        k: v
        for k, v in {**{n: v for n, v in row.names.items() if n in values}, **row.options}.items()
        if getattr(account, k) != v
    }
    if row.password_hash:
        row.set_password = row.password_hash != account.user.password
    elif row.password:
        mark = password_mark(account.pk, account.user.password, row.password)
        row.set_password = not constant_time_compare(mark, account.imported_password_mark)
    if (row.changes or row.new_aliases or row.set_password) and not account.is_active:
        row.error("", _("This account is deactivated: reactivate it before changing it."))
        return row
    row.action = "update" if row.changes or row.new_aliases or row.set_password else "unchanged"
    return row


def preview(*, user: User, domain: Domain, data: bytes, file_name: str) -> tuple[BulkJob, Parsed]:
    """The dry run: parse and check every row, write nothing but the preview job."""
    parsed = parse(data)
    job = BulkJob(
        organization_id=domain.organization_id,
        domain=domain,
        created_by=user,
        kind=BulkJob.Kind.IMPORT,
        state=BulkJob.State.PREVIEW,
        file_name=file_name[:255],
    )
    if parsed.errors:
        return job, parsed
    ctx = Context(domain, [values for _line, values in parsed.rows], user=user)
    items, counts = [], {"create": 0, "update": 0, "unchanged": 0, "error": 0}
    for line, values in parsed.rows:
        row = check_row(values, ctx)
        counts[row.action or "error"] += 1
        data = {k: v for k, v in values.items() if k in COLUMNS}
        if data.get("password"):
            # Kept (encrypted) only for a row that will run: a refused row is never imported.
            data["password"] = "" if row.errors else encrypt(data["password"])
        items.append(
            BulkJobItem(
                line=line,
                address=row.address or (values.get("address") or "")[:320],
                data={**data, "action": row.action},
                errors=row.errors,
                state=BulkJobItem.State.FAILED if row.errors else BulkJobItem.State.PENDING,
            )
        )
    job.params = {"counts": counts}
    with transaction.atomic():
        job.save()
        for item in items:
            item.job = job
        BulkJobItem.objects.bulk_create(items, batch_size=1000)
    return job, parsed


def import_start(*, job: BulkJob) -> None:
    """Run a previewed import: the rows without errors, each checked again when it runs."""
    with transaction.atomic():
        held = BulkJob.objects.select_for_update().get(pk=job.pk)
        if held.state != BulkJob.State.PREVIEW:
            return
        # Rows the dry run refused are not part of the import.
        BulkJobItem.objects.filter(job=held, state=BulkJobItem.State.FAILED).delete()
        held.total = BulkJobItem.objects.filter(job=held).count()
        held.state = BulkJob.State.RUNNING
        held.save(update_fields=["total", "state"])
        audit(action="bulk.import", obj=held, organization_id=held.organization_id)
    job.refresh_from_db()


def _row_values(item: BulkJobItem) -> dict[str, str]:
    values = dict(item.data)
    values.pop("action", None)
    if values.get("password"):
        values["password"] = decrypt(values["password"])
    return values


def _context(job: BulkJob, values: list[dict[str, str]]) -> Context:
    # What is shared is read once per run of the job (the job object lives for one run).
    return Context(
        job.domain,
        values,
        user=job.created_by,
        shared=job.__dict__.setdefault("_import_shared", {}),
    )


def import_creations(*, job: BulkJob, items: list[BulkJobItem]) -> dict[int, Outcome]:
    """The rows of a chunk that create an account without aliases, checked as import_row
    checks them and created together (services.accounts_create); their outcomes by item pk.
    The other rows (updates, aliases, a subscription, an author who may no longer create) are
    left to import_row, one at a time."""
    user = job.created_by
    wanted = {
        item.pk: item
        for item in items
        if item.data.get("action") == "create"
        and not item.data.get("aliases")
        and not item.data.get("subscription")
    }
    if user is None or not wanted:
        return {}
    try:
        get_domain_for(user, job.domain_id, write=True)  # the author may still create here
    except (PermissionDenied, Http404):
        return {}
    values = {pk: _row_values(item) for pk, item in wanted.items()}
    ctx = _context(job, list(values.values()))
    outcomes: dict[int, Outcome] = {}
    creating: list[tuple[int, Row]] = []
    for pk, row_values in values.items():
        row = check_row(row_values, ctx)
        if row.errors:
            outcomes[pk] = Outcome(BulkJobItem.State.FAILED, row.errors)
        elif row.action == "create" and not row.aliases:
            creating.append((pk, row))
    made = services.accounts_create(
        domain=job.domain,
        accounts=[
            {
                "local_part": row.local_part,
                "first_name": row.names.get("first_name", ""),
                "last_name": row.names.get("last_name", ""),
                "password_hash": _password_hash(row),
                "options": row.options,
            }
            for _pk, row in creating
        ],
    )
    marked = []
    for (pk, row), account in zip(creating, made, strict=True):
        if isinstance(account, ValidationError):
            outcomes[pk] = Outcome(BulkJobItem.State.FAILED, errors_of(account))
        else:
            wanted[pk].account = account
            outcomes[pk] = Outcome(BulkJobItem.State.DONE, [])
            if _mark(account, row):
                marked.append(account)
    EmailAccount.objects.bulk_update(marked, ["imported_password_mark"])
    return outcomes


def _password_hash(row: Row) -> str:
    return row.password_hash or (make_password(row.password) if row.password else "")


def _mark(account: EmailAccount, row: Row) -> bool:
    """Remember the plain password the row set (True), or that none was (False)."""
    if not row.password:
        return False
    account.imported_password_mark = password_mark(account.pk, account.user.password, row.password)
    return True


def import_row(*, job: BulkJob, item: BulkJobItem) -> Outcome:
    """One row of a running import, checked against the database as it is now."""
    values = _row_values(item)
    row = check_row(values, _context(job, [values]))
    if row.errors:
        return Outcome(BulkJobItem.State.FAILED, row.errors)
    if row.action == "unchanged":
        return Outcome(BulkJobItem.State.UNCHANGED, [])
    user = job.created_by
    if user is None:
        return Outcome(
            BulkJobItem.State.FAILED,
            [{"column": "", "message": _("The person who started this import is gone.")}],
        )
    if row.action == "create":
        get_domain_for(user, job.domain_id, write=True)  # the author may still create here
        account = services.account_create(
            domain=job.domain,
            local_part=row.local_part,
            first_name=row.names.get("first_name", ""),
            last_name=row.names.get("last_name", ""),
            password_hash=_password_hash(row),
            options=row.options,
            aliases=row.aliases,
            subscription=row.subscription,
        )
        item.account = account
        item.save(update_fields=["account"])
        if _mark(account, row):
            account.save(update_fields=["imported_password_mark"])
        return Outcome(BulkJobItem.State.DONE, [])
    account = get_account_for(user, row.account.pk, write=True)
    if row.changes:
        services.account_update(account=account, values=row.changes)
    for alias in row.new_aliases:
        services.alias_add(account=account, address=alias)
    if row.set_password:
        # A plain password meets the account's policy as the settings page's does (reuse).
        services.account_set_password(
            account=account,
            password_hash=row.password_hash,
            password=row.password or None,
        )
        if _mark(account, row):
            account.save(update_fields=["imported_password_mark"])
    return Outcome(BulkJobItem.State.DONE, [])


# --- export --------------------------------------------------------------------------------


class Echo:
    def write(self, value: str) -> str:
        return value


def safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def export_accounts(domain: Domain) -> Iterator[str]:
    """The domain's accounts in the import's format (no passwords: none are kept)."""
    writer = csv.writer(Echo())
    yield "\ufeff" + writer.writerow(COLUMNS)
    accounts = (
        EmailAccount.objects.filter(domain=domain, deleting=False)
        .order_by("address")
        .only(
            "pk",
            "address",
            "first_name",
            "last_name",
            "quota_mb",
            "services",
            "forward_to",
            "subscription__name",
        )
        .select_related("subscription")
        .prefetch_related("aliases")
    )
    for account in accounts.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                safe(account.address),
                safe(account.first_name),
                safe(account.last_name),
                "",
                "",
                account.quota_mb,
                " ".join(account.offered_services()),
                safe(" ".join(sorted(a.address for a in account.aliases.all()))),
                safe(" ".join(account.forward_to)),
                safe(account.subscription.name if account.subscription else ""),
            ]
        )


def export_aliases(domain: Domain) -> Iterator[str]:
    """Every alias of the domain's accounts, with the account it delivers to."""
    writer = csv.writer(Echo())
    yield "\ufeff" + writer.writerow(ALIAS_COLUMNS)
    rows = (
        Alias.objects.filter(account__domain=domain)
        .order_by("address")
        .values_list("address", "account__address")
    )
    for alias, account in rows.iterator(chunk_size=2000):
        yield writer.writerow([safe(alias), safe(account)])
