"""Values typed for an administration: the dose as an exact decimal, the time given."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import pytest

from kap.services.board.administrations import (
    dose_number,
    dose_text,
    given_at_from_clock,
    parse_dose,
)
from kap.services.errors import Invalid

ZONE = "America/New_York"


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("56", "56"),
        ("0.5", "0.5"),
        (" 12.125 ", "12.125"),
        (0.1, "0.1"),
        (56, "56"),
        ("1e2", "100"),
    ],
)
def test_a_dose_is_kept_exactly_as_typed(typed, stored):
    """Decimal all the way: 0.1 stays 0.1 (no binary float noise), text shows no extra zeros."""
    dose = parse_dose(typed)
    assert isinstance(dose, Decimal) and dose == Decimal(stored)
    assert dose_text(dose) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "0",
        "-1",
        "0.0001",
        "99999.9999",
        "100000",
        "1e5",
        "x",
        "",
        None,
        True,
        float("nan"),
        float("inf"),
        [],
        {},
    ],
)
def test_a_dose_that_is_not_a_positive_amount_is_refused(typed):
    """Zero, negative, over 3 decimals, 100000 or more, not a number: a dose field message."""
    with pytest.raises(Invalid) as refused:
        parse_dose(typed)
    assert "dose" in refused.value.fields


def test_doses_are_json_numbers():
    """Whole doses are ints, others floats."""
    assert dose_number(Decimal("56.000")) == 56 and isinstance(dose_number(Decimal("56")), int)
    assert dose_number(Decimal("0.125")) == 0.125


def test_a_clock_time_is_the_last_time_it_was_that_time():
    """10:10 typed at 10:30 is today; 23:50 typed at 00:10 is yesterday (a carried-over night)."""
    morning = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)  # 10:30 in New York
    assert given_at_from_clock(time(10, 10), ZONE, morning) == datetime(
        2026, 12, 2, 15, 10, tzinfo=UTC
    )
    just_after_midnight = datetime(2026, 12, 3, 5, 10, tzinfo=UTC)  # 00:10 on 3 December
    assert given_at_from_clock(time(23, 50), ZONE, just_after_midnight) == datetime(
        2026, 12, 3, 4, 50, tzinfo=UTC
    )
    assert given_at_from_clock(time(10, 33), ZONE, morning).day == 2  # 3 min ahead: today
    assert given_at_from_clock(None, ZONE, morning) is None
