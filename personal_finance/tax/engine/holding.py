"""Holding periods (docs/contracts.md §12).

The holding period starts the day after the trade date and includes the sale date, and it is
counted in calendar months, not days (Rev. Rul. 66-7, 1966-1 C.B. 188; Rev. Rul. 70-598, 1970-2
C.B. 168; IRS Publication 550, "Holding Period"). A share is long-term only when sold *after* the
one-year anniversary of its acquisition:

* bought 2023-03-15 -> anniversary 2024-03-15; a sale that day is short-term, 2024-03-16 is long.
* bought on the last day of a month -> the anniversary is the last day of that month a year later
  (a holding month ends on the last day of each following month): bought 2023-02-28 -> anniversary
  2024-02-29, so selling on leap day 2024-02-29 is still short-term and 2024-03-01 is long-term.
* bought on leap day 2024-02-29 (the last day of February) -> anniversary 2025-02-28; a sale on
  2025-03-01 is long-term.

Counting 365 days is wrong: it makes a 2024-01-15 purchase long-term on 2025-01-15 (366 days would
be right) and a 2023-01-15 purchase long-term a day early across leap day.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from .types import LONG, SHORT


def anniversary(acquired: date) -> date:
    """The date one year after `acquired`; the last day of a month maps to that month's last day."""
    year = acquired.year + 1
    last_day_then = calendar.monthrange(acquired.year, acquired.month)[1]
    last_day_next = calendar.monthrange(year, acquired.month)[1]
    if acquired.day == last_day_then:
        return date(year, acquired.month, last_day_next)
    return date(year, acquired.month, min(acquired.day, last_day_next))


def is_long_term(acquired: date, sold: date) -> bool:
    return sold > anniversary(acquired)


# acquisition date ordinal -> anniversary ordinal; many sales share acquisition dates
ANNIVERSARY_ORDINALS: dict[int, int] = {}


def term(acquired: date, sold: date) -> str:
    """`long` or `short`."""
    key = acquired.toordinal()
    ann = ANNIVERSARY_ORDINALS.get(key)
    if ann is None:
        ann = ANNIVERSARY_ORDINALS[key] = anniversary(acquired).toordinal()
    return LONG if sold.toordinal() > ann else SHORT


def tacked_acquisition(replacement_acquired: date, sold_acquired: date, sold: date) -> date:
    """Adjusted acquisition date of wash-sale replacement shares (IRC 1223(3)): the days the sold
    shares were held are added to the replacement's holding period, i.e. its start moves back by
    that many days. The calendar-month term rule is then applied to the adjusted date."""
    held_days = (sold - sold_acquired).days
    return replacement_acquired - timedelta(days=max(held_days, 0))
