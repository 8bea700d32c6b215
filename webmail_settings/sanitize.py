"""Signature HTML: an explicit allow-list for nh3, and the plain-text version derived from it.

Nothing that runs code or loads from elsewhere survives: no script or style elements, no event
handlers, only http(s)/mailto/tel links, images only from https URLs, inline style limited to a
few typographic properties whose values cannot call functions (no url(), expression())."""

import html as html_lib
import re

import nh3

TAGS = {
    "a", "b", "strong", "i", "em", "u", "s", "small", "sub", "sup", "br", "p", "div",
    "span", "font", "img", "hr", "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "h4",
    "table", "thead", "tbody", "tr", "td", "th",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign"},
    "table": {"cellpadding", "cellspacing", "border", "width"},
    "font": {"color", "size", "face"},
    "*": {"style", "title", "align"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
STYLE_PROPERTIES = {
    "color", "background-color", "font-family", "font-size", "font-weight", "font-style",
    "text-align", "text-decoration", "line-height", "margin", "margin-top", "margin-bottom",
    "margin-left", "margin-right", "padding", "vertical-align", "border", "width", "height",
}  # fmt: skip
_UNSAFE_STYLE = re.compile(r"[(\\]|/\*|@|expression|url|javascript", re.IGNORECASE)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if value.lower().startswith("https://") else None
    if attribute == "style" and _UNSAFE_STYLE.search(value):
        return None
    return value


def sanitize_html(value: str) -> str:
    """The only HTML a signature may store and render."""
    return nh3.clean(
        value,
        tags=TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=URL_SCHEMES,
        url_relative="deny",
        filter_style_properties=STYLE_PROPERTIES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


_BREAKS = re.compile(r"<br\s*/?>|</(p|div|li|tr|h[1-4]|blockquote)>|<hr\s*/?>", re.IGNORECASE)


def html_to_text(value: str) -> str:
    """A readable plain-text body for clients that do not show HTML."""
    text = _BREAKS.sub("\n", value)
    text = html_lib.unescape(nh3.clean(text, tags=set(), clean_content_tags={"script", "style"}))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
