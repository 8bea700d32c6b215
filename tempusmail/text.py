"""What no typed text may carry, wherever it comes from (form data, query strings, JSON):
unpaired surrogates (they cannot be stored or encoded: a 500 waiting to happen) and control
characters other than tab and line breaks (they forge records in exports and headers). Form
data and query strings are checked once by TextMiddleware, JSON bodies by the API transport
(tempusmail.api), line breaks in single-line fields by CleanTextMixin (forms)."""

import re

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

SURROGATE = re.compile("[\ud800-\udfff]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
LINE_BREAK = re.compile("[\r\n\x85\u2028\u2029]")


def text_problem(value: str) -> str | None:
    """Why this text is refused, or None."""
    if SURROGATE.search(value):
        return _("Text may not contain unpaired surrogate characters.")
    if "\x00" in value:
        return _("Text may not contain NUL characters.")
    if CONTROL.search(value):
        return _("Text may not contain control characters.")
    return None


def data_problem(data) -> str | None:
    """The first problem in a QueryDict's names and values."""
    for key, values in data.lists():
        for text in (key, *values):
            if isinstance(text, str) and (problem := text_problem(text)):
                return problem
    return None


class TextMiddleware:
    """Refuses a request whose query string or form data carries what text_problem refuses,
    before any view sees it: 400 with the reason (JSON under /api/)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = data_problem(request.GET)
        if problem is None and request.method == "POST":
            problem = data_problem(request.POST)
        if problem is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"error": problem}, status=400)
        return render(request, "bad_input.html", {"problem": problem}, status=400)
