"""The pager's page numbers: first and last, two on each side of the current one, gaps."""

from django import template

register = template.Library()


@register.filter
def page_numbers(page) -> list:
    """Numbers and Paginator.ELLIPSIS; a capped count (more than its limit) ends in a gap."""
    paginator = page.paginator
    numbers = list(paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
    if getattr(paginator, "capped", False) and numbers and numbers[-1] != paginator.ELLIPSIS:
        numbers.append(paginator.ELLIPSIS)
    return numbers
