"""What a domain must publish, and what DNS answers: dnspython against the resolver from
settings (DNS_RESOLVERS, DNS_PORT, DNS_TIMEOUT). A resolver that does not answer is reported
as such ("could not check"), never as an error page and never as "missing"."""

from dataclasses import asdict, dataclass, field

import dns.exception
import dns.resolver
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .dkim import record_key
from .models import CheckResult, DkimKey, Domain

OK, MISSING, WRONG, UNCHECKED, NOT_NEEDED = "ok", "missing", "wrong", "unchecked", "not_needed"
STATUS_LABELS = {
    OK: _("OK"),
    MISSING: _("Missing"),
    WRONG: _("Wrong"),
    UNCHECKED: _("Could not check — DNS did not answer"),
    NOT_NEEDED: _("No longer needed"),
    "": _("Not checked yet"),
}


class DnsUnavailable(Exception):
    """The resolver did not answer (timeout, refused, server failure, no configuration)."""


def resolver() -> dns.resolver.Resolver:
    try:
        if settings.DNS_RESOLVERS:
            res = dns.resolver.Resolver(configure=False)
            res.nameservers = list(settings.DNS_RESOLVERS)
        else:
            res = dns.resolver.Resolver()
    except dns.exception.DNSException as exc:
        raise DnsUnavailable(str(exc)) from exc
    res.port = settings.DNS_PORT
    res.timeout = settings.DNS_TIMEOUT
    res.lifetime = settings.DNS_TIMEOUT
    res.cache = None  # every check asks again: the owner just published something
    return res


def lookup(name: str, rdtype: str) -> list[str]:
    """The answers as text (TXT strings joined, MX as "preference host", CNAME as its target);
    [] when the name or the record does not exist; DnsUnavailable when DNS did not answer."""
    try:
        answer = resolver().resolve(name, rdtype, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
        return []
    except dns.exception.DNSException as exc:
        raise DnsUnavailable(str(exc)) from exc
    values = []
    for rdata in answer:
        if rdtype == "TXT":
            values.append(b"".join(rdata.strings).decode("utf-8", "replace"))
        elif rdtype == "MX":
            values.append(f"{rdata.preference} {_host(rdata.exchange)}")
        elif rdtype == "CNAME":
            values.append(_host(rdata.target))
        else:
            values.append(rdata.to_text())
    return sorted(values)


def _host(name) -> str:
    return name.to_text(omit_final_dot=True).lower()


# --- ownership -----------------------------------------------------------------------------


def check_ownership(domain: Domain) -> tuple[str, list[str]]:
    """(CheckResult, the TXT values found) for the domain's ownership record."""
    try:
        found = lookup(domain.verification_record_name, "TXT")
    except DnsUnavailable:
        return CheckResult.UNREACHABLE, []
    if domain.verification_record_value in (v.strip() for v in found):
        return CheckResult.FOUND, found
    return (CheckResult.WRONG if found else CheckResult.MISSING), found


# --- health --------------------------------------------------------------------------------


@dataclass
class Record:
    """One record the domain should publish, and (once checked) what DNS answered."""

    key: str
    label: str
    name: str
    rtype: str
    expected: str
    answered: list[str] = field(default_factory=list)
    status: str = ""
    note: str = ""

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))


def expected_records(domain: Domain, keys: list[DkimKey]) -> list[Record]:
    name = domain.name
    mx = settings.DNS_MX_HOSTS[0] if settings.DNS_MX_HOSTS else settings.MAIL_HOSTNAME
    records = [
        Record("mx", "MX", name, "MX", f"10 {mx}"),
        Record("spf", "SPF", name, "TXT", _fill(settings.DNS_SPF_RECORD, name)),
    ]
    records += [
        Record(
            f"dkim:{key.selector}",
            f"DKIM ({key.selector})",
            key.record_name,
            "TXT",
            key.record_value,
        )
        for key in keys
    ]
    records += [
        Record("dmarc", "DMARC", f"_dmarc.{name}", "TXT", _fill(settings.DNS_DMARC_RECORD, name)),
        Record("autoconfig", "Autoconfig", f"autoconfig.{name}", "CNAME", settings.AUTOCONFIG_HOST),
        Record(
            "autodiscover",
            "Autodiscover",
            f"autodiscover.{name}",
            "CNAME",
            settings.AUTOCONFIG_HOST,
        ),
        Record(
            "ownership",
            str(_("Ownership")),
            domain.verification_record_name,
            "TXT",
            domain.verification_record_value,
        ),
    ]
    return records


def _fill(template: str, name: str) -> str:
    return template.replace("{domain}", name)


def check_health(domain: Domain, keys: list[DkimKey]) -> list[dict]:
    """Ask DNS for every expected record and judge each answer. Once the resolver fails to
    answer, the remaining records are not asked (each would wait out the timeout again)."""
    results = []
    reachable = True
    for record in expected_records(domain, keys):
        if reachable:
            try:
                record.answered = lookup(record.name, record.rtype)
                if record.rtype == "CNAME" and not record.answered:
                    record.answered = lookup(record.name, "A")  # an address instead of a name
                record.status, record.note = judge(record, domain, keys)
            except DnsUnavailable:
                reachable = False
        if not reachable:
            record.answered, record.status = [], UNCHECKED
        results.append(asdict(record))
    return results


def judge(record: Record, domain: Domain, keys: list[DkimKey]) -> tuple[str, str]:
    answered = record.answered
    kind = record.key.split(":")[0]
    if kind == "mx":
        if not answered:
            return MISSING, ""
        hosts = {a.split()[-1] for a in answered}
        ours = set(settings.DNS_MX_HOSTS)
        if hosts <= ours:
            return OK, ""
        return WRONG, str(_("Mail for the domain would go to other servers too."))
    if kind == "spf":
        spf = [a for a in answered if a.lower().split(" ")[0] == "v=spf1"]
        if not spf:
            return MISSING, ""
        if len(spf) > 1:
            return WRONG, str(_("Several SPF records: receivers treat that as an error."))
        wanted = _spf_terms(record.expected)
        if wanted <= _spf_terms(spf[0]):
            return OK, ""
        return WRONG, str(_("The SPF record does not authorize this service's servers."))
    if kind == "dkim":
        key = next(k for k in keys if f"dkim:{k.selector}" == record.key)
        if any(record_key(a) == key.public_key for a in answered):
            return OK, ""
        return (WRONG if answered else MISSING), ""
    if kind == "dmarc":
        dmarc = [a for a in answered if a.replace(" ", "").upper().startswith("V=DMARC1")]
        if not dmarc:
            return MISSING, ""
        if len(dmarc) > 1:
            return WRONG, str(_("Several DMARC records: receivers ignore them all."))
        tags = dict(
            (part.split("=", 1)[0].strip().lower(), part.split("=", 1)[1].strip().lower())
            for part in dmarc[0].split(";")
            if "=" in part
        )
        if tags.get("p") in ("none", "quarantine", "reject"):
            return OK, ""
        return WRONG, str(_("The DMARC record has no valid policy (p=)."))
    if kind in ("autoconfig", "autodiscover"):
        if record.expected in answered:
            return OK, ""
        return (WRONG if answered else MISSING), ""
    if kind == "ownership":
        if record.expected in (a.strip() for a in answered):
            return OK, ""
        if domain.is_verified:
            return NOT_NEEDED, str(_("The domain is verified: the record may be removed."))
        return (WRONG if answered else MISSING), ""
    return MISSING, ""


def _spf_terms(record: str) -> set[str]:
    """An SPF record's mechanisms other than "all", without the "+" qualifier."""
    terms = set()
    for term in record.lower().split()[1:]:
        term = term.lstrip("+")
        if term.lstrip("~-?") != "all" and not term.startswith(("redirect=", "exp=")):
            terms.add(term)
    return terms


def health_rows(domain: Domain, keys: list[DkimKey], stored: list[dict]) -> list[Record]:
    """The records to show: always the ones expected now, with the stored answer of the last
    check where that check asked for the same record (a rotated key is "not checked yet")."""
    by_key = {(r.get("key"), r.get("expected")): r for r in stored or []}
    rows = []
    for record in expected_records(domain, keys):
        found = by_key.get((record.key, record.expected))
        if found:
            record.answered = list(found.get("answered") or [])
            record.status = found.get("status", "")
            record.note = found.get("note", "")
        rows.append(record)
    return rows
