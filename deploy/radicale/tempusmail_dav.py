"""Radicale storage for TempusMail: Radicale's own files plus one read-only address book.

Every principal (a mailbox address) gets a virtual collection ``/<address>/company/``: the
panel's company address book for that user (the active colleagues whose admin left them
visible), read at most every ``tempusmail_cache_seconds`` from the panel's
``/portal/api/service/settings?service=dav`` with the provider's services key. It is listed
with the user's own calendars and address books, so CardDAV clients discover it; the rights
file (deploy/radicale/rights.in) makes it read-only. Everything else is Radicale's
multifilesystem storage, untouched.

[storage] options (extra options are allowed for a plugin storage):
  type = tempusmail_dav
  tempusmail_api_url = http://panel:8000/portal/api/service/settings
  tempusmail_api_key = <SERVICES_API_KEY>
  tempusmail_cache_seconds = 60
"""

import hashlib
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email.utils import formatdate

import vobject
from radicale import item as radicale_item
from radicale import pathutils
from radicale.log import logger
from radicale.storage import BaseCollection, multifilesystem

BOOK = "company"


def card(entry: dict) -> vobject.base.Component:
    """One colleague as a vCard 3.0 (what every CardDAV client reads)."""
    vcard = vobject.vCard()
    vcard.add("version").value = "3.0"
    vcard.add("uid").value = "tempusmail-" + hashlib.sha256(entry["email"].encode()).hexdigest()
    name = entry.get("name") or entry["email"]
    vcard.add("fn").value = name
    given, _sep, family = name.partition(" ")
    vcard.add("n").value = vobject.vcard.Name(family=family, given=given)
    email = vcard.add("email")
    email.value = entry["email"]
    email.type_param = "INTERNET"
    if entry.get("job_title"):
        vcard.add("title").value = entry["job_title"]
    if entry.get("phone"):
        tel = vcard.add("tel")
        tel.value = entry["phone"]
        tel.type_param = "WORK"
    return vcard


class CompanyBook(BaseCollection):
    """The read-only company address book of one principal."""

    def __init__(self, owner: str, entries: list[dict], fetched: float) -> None:
        self._path = f"{owner}/{BOOK}"
        self._last_modified = formatdate(fetched, usegmt=True)
        self._items: dict[str, radicale_item.Item] = {}
        for entry in entries:
            vcard = card(entry)
            href = vcard.uid.value + ".vcf"
            self._items[href] = radicale_item.Item(
                collection=self, vobject_item=vcard, href=href, last_modified=self._last_modified
            )

    @property
    def path(self) -> str:
        return self._path

    def get_meta(self, key=None):
        meta = {
            "tag": "VADDRESSBOOK",
            "D:displayname": "Company address book",
            "CR:addressbook-description": "Your colleagues (read-only, from the panel)",
        }
        return meta if key is None else meta.get(key)

    def set_meta(self, props) -> None:
        raise PermissionError("the company address book is read-only")

    @property
    def last_modified(self) -> str:
        return self._last_modified

    def get_all(self):
        return list(self._items.values())

    def get_multi(self, hrefs):
        for href in hrefs:
            yield href, self._items.get(href)

    def has_uid(self, uid: str) -> bool:
        return any(item.uid == uid for item in self._items.values())

    def upload(self, href, item):
        raise PermissionError("the company address book is read-only")

    def delete(self, href=None) -> None:
        raise PermissionError("the company address book is read-only")


class Storage(multifilesystem.Storage):
    def __init__(self, configuration) -> None:
        super().__init__(configuration)
        self._api_url = configuration.get("storage", "tempusmail_api_url")
        self._api_key = configuration.get("storage", "tempusmail_api_key")
        try:
            self._ttl = float(configuration.get("storage", "tempusmail_cache_seconds"))
        except KeyError:
            self._ttl = 60.0
        self._cache: dict[str, tuple[float, CompanyBook]] = {}
        self._cache_lock = threading.Lock()

    def _fetch(self, owner: str) -> list[dict] | None:
        query = urllib.parse.urlencode({"address": owner, "service": "dav"})
        request = urllib.request.Request(  # noqa: S310 - the configured panel URL
            f"{self._api_url}?{query}",
            headers={"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - our URL
                return json.load(answer).get("address_book", [])
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return []  # no DAV for this mailbox any more: nothing to show
            logger.warning("tempusmail: the panel answered %s for %s", error.code, owner)
        except (OSError, ValueError) as error:
            logger.warning("tempusmail: the panel is unreachable: %s", error)
        return None

    def _book(self, owner: str) -> CompanyBook | None:
        now = time.time()
        with self._cache_lock:
            held = self._cache.get(owner)
        if held and now - held[0] < self._ttl:
            return held[1]
        entries = self._fetch(owner)
        if entries is None:  # keep serving the last answer rather than losing the book
            return held[1] if held else None
        book = CompanyBook(owner, entries, now)
        with self._cache_lock:
            self._cache[owner] = (now, book)
        return book

    def discover(self, path, depth="0", child_context_manager=None, user_groups=frozenset()):
        sane = pathutils.strip_path(path)
        parts = sane.split("/") if sane else []
        if len(parts) in (2, 3) and parts[1] == BOOK:
            book = self._book(parts[0])
            if book is None:
                return
            if len(parts) == 3:
                found = dict(book.get_multi([parts[2]]))[parts[2]]
                if found is not None:
                    yield found
                return
            yield book
            if depth != "0":
                yield from book.get_all()
            return
        found_principal = False
        for entry in super().discover(path, depth, child_context_manager, set(user_groups)):
            found_principal = True
            yield entry
        if len(parts) == 1 and depth != "0" and found_principal:
            book = self._book(parts[0])
            if book is not None:
                yield book

    def create_collection(self, href, items=None, props=None):
        if pathutils.strip_path(href).split("/")[1:2] == [BOOK]:
            raise PermissionError("the company address book is read-only")
        return super().create_collection(href, items, props)
