"""The committed Italian catalog: every entry translated, none fuzzy, placeholders intact."""

import re

from .conftest import LOCALE

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def entries(text: str):
    """(msgid, msgstr, fuzzy) for each entry of a .po file; enough of the format for this."""
    for block in text.split("\n\n"):
        fuzzy = "#, fuzzy" in block
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if "msgid" in fields:
            yield fields, fuzzy


def test_every_entry_is_translated():
    text = (LOCALE / "it" / "LC_MESSAGES" / "django.po").read_text()
    count = 0
    for fields, fuzzy in entries(text):
        if fields["msgid"] == "":
            assert not fuzzy, "the header is fuzzy"
            continue
        count += 1
        assert not fuzzy, fields["msgid"]
        translations = {k: v for k, v in fields.items() if k.startswith("msgstr")}
        assert translations and all(translations.values()), f"untranslated: {fields['msgid']}"
        for key, translation in translations.items():
            # A plural form (msgstr[1] in Italian) says what msgid_plural says.
            source = fields["msgid_plural"] if key[-3:] not in ("str", "[0]") else fields["msgid"]
            assert sorted(PLACEHOLDER.findall(source)) == sorted(
                PLACEHOLDER.findall(translation)
            ), fields["msgid"]
    assert count > 300
