"""Holding periods: calendar months from the day after the trade, month ends and leap years.

Sources: Rev. Rul. 66-7, 1966-1 C.B. 188 (holding period counted by calendar months; an asset
acquired on the last day of a month completes a month on the last day of each following month);
Rev. Rul. 66-97 and Rev. Rul. 70-598, 1970-2 C.B. 168 (the trade date is excluded, the sale date
included); IRS Publication 550 (2023), chapter 4 "Holding Period"; J.K. Lasser's Your Income Tax
2013, 5.9 "Counting the Months in Your Holding Period" (Examples 1 and 2); Fairmark, "Don't Sell
on Leap Day" (Feb 27, 2016); The Motley Fool, "How to Calculate a Holding Period" (Jan 1, 2008
example).
"""

from __future__ import annotations

from datetime import date

import pytest

from personal_finance.tax.engine import anniversary, is_long_term

from .factories import buy, report, sell


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize(
    ("acquired", "last_short", "first_long"),
    [
        # J.K. Lasser 5.9 Example 1: bought Sep 19, 2012 -> long-term from Sep 20, 2013
        ("2012-09-19", "2013-09-19", "2013-09-20"),
        # Motley Fool: bought Jan 1, 2008; sold Jan 1, 2009 is short, Jan 2, 2009 long
        ("2008-01-01", "2009-01-01", "2009-01-02"),
        # Fairmark "Don't sell on leap day": bought Feb 28, 2015 (last day of February) -> the
        # anniversary is Feb 29, 2016, so a leap-day sale is short-term; March 1, 2016 is long-term
        ("2015-02-28", "2016-02-29", "2016-03-01"),
        ("2023-02-28", "2024-02-29", "2024-03-01"),
        # bought on leap day (the last day of February) -> anniversary Feb 28 of the next year
        ("2024-02-29", "2025-02-28", "2025-03-01"),
        # Feb 28 of a leap year is not the month's last day -> anniversary Feb 28 next year
        ("2024-02-28", "2025-02-28", "2025-03-01"),
        # J.K. Lasser 5.9 Example 2: bought on the last day of a month (Nov 30)
        ("2012-11-30", "2013-11-30", "2013-12-01"),
        ("2023-04-30", "2024-04-30", "2024-05-01"),
        ("2023-01-31", "2024-01-31", "2024-02-01"),
        ("2023-12-31", "2024-12-31", "2025-01-01"),
    ],
)
def test_long_term_only_after_the_anniversary(acquired, last_short, first_long):
    assert not is_long_term(d(acquired), d(last_short))
    assert is_long_term(d(acquired), d(first_long))


def test_anniversary_of_month_ends():
    assert anniversary(d("2023-02-28")) == d("2024-02-29")
    assert anniversary(d("2024-02-29")) == d("2025-02-28")
    assert anniversary(d("2024-02-28")) == d("2025-02-28")
    assert anniversary(d("2023-06-15")) == d("2024-06-15")


def test_counting_365_days_would_be_wrong():
    """A holding period spanning Feb 29 needs 366 days: 2024-01-15 + 365 days = 2025-01-14 is
    still short-term, and so is 2025-01-15 (the anniversary itself)."""
    acquired = d("2024-01-15")
    assert (d("2025-01-14") - acquired).days == 365
    assert not is_long_term(acquired, d("2025-01-14"))
    assert not is_long_term(acquired, d("2025-01-15"))
    assert is_long_term(acquired, d("2025-01-16"))
    # and without a leap day: 2022-03-01 + 365 days = 2023-03-01 (the anniversary) is short-term
    assert not is_long_term(d("2022-03-01"), d("2023-03-01"))


def test_terms_in_the_report_and_the_8949_parts():
    rep = report(
        [
            buy("b1", "2023-02-28", 10, 10),
            buy("b2", "2023-02-28", 10, 10),
            sell("s1", "2024-02-29", 10, 12),  # leap day: still short-term
            sell("s2", "2024-03-01", 10, 12),  # long-term
        ]
    )
    terms = {r["sell"]: r["term"] for r in rep["realized"]}
    assert terms == {"s1": "short", "s2": "long"}
    assert [r["date_sold"] for r in rep["form_8949"]["part_i"]] == ["2024-02-29"]
    assert [r["date_sold"] for r in rep["form_8949"]["part_ii"]] == ["2024-03-01"]
    assert rep["schedule_d"]["short_term"] == {
        "rows": 1,
        "proceeds": "120.00",
        "basis": "100.00",
        "adjustment": "0.00",
        "gain_loss": "20.00",
    }
    assert rep["schedule_d"]["long_term"]["gain_loss"] == "20.00"
    assert rep["schedule_d"]["net_gain_loss"] == "40.00"
