"""The account list's rows format dates as Django does (accounts.rows.DateFormatter splits the
format string once a request instead of once a value)."""

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.utils import dateformat, timezone, translation
from django.utils.formats import get_format

from accounts.rows import DateFormatter

MOMENTS = [
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime(2026, 7, 31, 23, 59, 59, tzinfo=UTC),  # another day in Rome, summer time
    datetime(2024, 2, 29, 12, 0, 0, tzinfo=UTC),
]


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Rome", "America/New_York"])
def test_dates_read_as_djangos_own_formatting(language, zone):
    formats = [
        get_format("SHORT_DATETIME_FORMAT", lang=language),
        get_format("DATETIME_FORMAT", lang=language),
        r"\d\e\l j F Y \a\l\l\e H:i",  # escaped letters stay letters
        "D, d M Y H:i:s O",
    ]
    with translation.override(language), timezone.override(zone):
        for fmt in formats:
            formatter = DateFormatter(fmt)
            for moment in MOMENTS:
                assert formatter.format(moment) == dateformat.format(
                    timezone.localtime(moment), fmt
                ), (fmt, moment)
