"""Each option of the signature sanitizer (webmail_settings/sanitize.py) holds: relative and
foreign-scheme links dropped, only listed style properties, comments and script/style
contents removed, links opened without an opener; and the plain-text version."""

import pytest

from webmail_settings.sanitize import html_to_text, sanitize_html


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ('<a href="/portal/">x</a>', '<a rel="noopener noreferrer">x</a>'),  # relative
        ('<a href="ftp://e.test/f">x</a>', '<a rel="noopener noreferrer">x</a>'),  # scheme
        (
            '<a href="https://e.test/">x</a>',
            '<a href="https://e.test/" rel="noopener noreferrer">x</a>',
        ),
        (
            '<a href="mailto:a@e.test">x</a>',
            '<a href="mailto:a@e.test" rel="noopener noreferrer">x</a>',
        ),
        ('<p style="color: red; position: fixed">x</p>', '<p style="color:red">x</p>'),
        ("<p>x<!-- note --></p>", "<p>x</p>"),
        ("<p>x</p><script>alert(1)</script><style>p{}</style>", "<p>x</p>"),
        ("  <b>x</b>  ", "<b>x</b>"),
    ],
)
def test_each_rule_of_the_sanitizer(given, kept):
    assert sanitize_html(given) == kept


def test_the_plain_text_version():
    html = (
        "<p>Anna   Rossi</p><script>alert(1)</script><style>p{color:red}</style>"
        "<br><br><br><br><p>Sales &amp; Support</p>  "
    )
    assert html_to_text(html) == "Anna Rossi\n\nSales & Support"
