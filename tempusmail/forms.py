"""Form behaviour every app shares."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .text import LINE_BREAK


class CleanTextMixin:
    """Single-line text stays on one line: a line break in a name, title or subject has no
    place there and forges records where it is written out (vCards, mail headers, Sieve).
    Text areas keep theirs. The rest of text hygiene is tempusmail.text's middleware."""

    def full_clean(self):
        super().full_clean()
        for name, value in list(getattr(self, "cleaned_data", {}).items()):
            field = self.fields.get(name)
            if (
                isinstance(value, str)
                and field is not None
                and not isinstance(field.widget, forms.Textarea)
                and LINE_BREAK.search(value)
            ):
                self.add_error(name, _("Use a single line of text."))
