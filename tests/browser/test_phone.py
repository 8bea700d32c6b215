"""A phone-sized screen (390 px): no page scrolls sideways, tables scroll inside their box,
the top bar folds, and a row's More menu opens whole inside the screen (issue 15 polish)."""

import pytest

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser]

WIDTH = 390
# What sticks out of the screen (outside tables, which scroll in their box): tag, class, right.
WIDER_THAN = """w => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > w + 5 && !e.closest('table'))
    .slice(0, 8)
    .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""


def test_the_panel_fits_a_phone(
    django_db_setup, live_server, chromium, owner, org_a, domain_a, make_account
):
    for name in ("anna-with-a-rather-long-name", "beppe", "carla"):
        make_account(domain_a, name)
    page = chromium.new_page(viewport={"width": WIDTH, "height": 844})
    page.set_default_timeout(15_000)
    sign_in(page, live_server, owner)
    for path in (
        "/domains/",
        f"/domains/{domain_a.pk}/accounts/",
        f"/organization/overview/?org={org_a.pk}",
        f"/organization/members/?org={org_a.pk}",
        "/security/audit/",
        "/security/profile/",
    ):
        page.goto(f"{live_server.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate(WIDER_THAN, WIDTH)
        assert width <= WIDTH, f"{path} is {width} px wide on a {WIDTH} px screen: {wide}"
        bar = page.locator("header.topbar").bounding_box()
        assert bar["width"] <= WIDTH, path

    page.goto(f"{live_server.url}/domains/{domain_a.pk}/accounts/")
    row = page.locator("tbody tr").last
    row.locator("summary:has-text('More')").click()
    button = row.locator(".menu-items button").first
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.textContent.trim()",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert hit == "Deactivate"
    page.close()
