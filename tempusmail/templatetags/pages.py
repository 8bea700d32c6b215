"""The pager of every list page: first and last page, two on each side of the current one,
gaps. It sits on every list page, so it is built here in Python (the same markup as the
Django template it was, with `{% querystring page=n %}`'s links: the request's parameters,
the search and the sort among them, with its page number; docs/benchmarks.md)."""

from django import template
from django.utils.formats import localize
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

register = template.Library()


def page_numbers(page) -> list:
    """Numbers and Paginator.ELLIPSIS; a capped count (more than its limit) ends in a gap."""
    paginator = page.paginator
    numbers = list(paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
    if getattr(paginator, "capped", False) and numbers and numbers[-1] != paginator.ELLIPSIS:
        numbers.append(paginator.ELLIPSIS)
    return numbers


@register.simple_tag(takes_context=True)
def pager(context, page) -> SafeString:
    """Nothing for a single page."""
    paginator = page.paginator
    if paginator.num_pages <= 1:
        return SafeString("")
    params = context.request.GET.copy()  # copied once, not once a link

    def link(number: int) -> str:
        params["page"] = number
        return f"?{params.urlencode()}"

    links = []
    for n in page_numbers(page):
        if n == paginator.ELLIPSIS:
            links.append('<span class="gap">…</span>')
        elif n == page.number:
            links.append(
                format_html('<span class="btn current" aria-current="page">{}</span>', localize(n))
            )
        else:
            links.append(format_html('<a class="btn" href="{}">{}</a>', link(n), localize(n)))
    if getattr(paginator, "capped", False):
        where = gettext("Page %(n)s of many") % {"n": escape(localize(page.number))}
    else:
        where = gettext("Page %(n)s of %(total)s") % {
            "n": escape(localize(page.number)),
            "total": escape(localize(paginator.num_pages)),
        }
    previous = (
        format_html(
            '<a class="btn" rel="prev" href="{}">‹ {}</a>',
            link(page.previous_page_number()),
            gettext("Previous"),
        )
        if page.has_previous()
        else ""
    )
    following = (
        format_html(
            '<a class="btn" rel="next" href="{}">{} ›</a>',
            link(page.next_page_number()),
            gettext("Next"),
        )
        if page.has_next()
        else ""
    )
    return format_html(
        '\n<nav class="pagination" aria-label="{}">\n  {}\n  {}\n'
        '  <span class="sr-only">{}</span>\n  {}\n</nav>',
        gettext("Pages"),
        previous,
        SafeString("".join(links)),  # each escaped by format_html
        SafeString(where),  # as {% blocktranslate %}: the translation as is, the numbers escaped
        following,
    )
