"""The sanitizer on generated input: any mix of tags, handlers, schemes and entities comes out
inert, and sanitizing again changes nothing."""

from hypothesis import given, settings
from hypothesis import strategies as st

from webmail_settings.sanitize import html_to_text, sanitize_html

from .test_signature_xss import assert_inert

FRAGMENTS = [
    "<script>", "</script>", "<svg", "<img", "<a", "<p", "<b>", "</b>", "<style>", "<iframe",
    " src=", " href=", " onerror=", " onload=", " style=", " xlink:href=", ">", "/>", "\"", "'",
    "javascript:", "jav&#x61;script:", "&#106;avascript:", "java\tscript:", "data:text/html,",
    "vbscript:", "https://ok.example/x.png", "http://evil.example/x", "//evil.example",
    "expression(", "url(", "alert(1)", "<!--", "-->", "&lt;", "&amp;", "<math>", "<table>",
    "<td>", "\\", " ", "x",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_generated_html_comes_out_inert(payload):
    clean = sanitize_html(payload)
    assert_inert(clean, anywhere=False)
    assert sanitize_html(clean) == clean


def test_derived_text_drops_script_and_style_content():
    html = sanitize_html("<p>Hi</p><script>alert(1)</script><style>p{}</style><b>there</b>")
    assert html_to_text(html) == "Hi\nthere"
