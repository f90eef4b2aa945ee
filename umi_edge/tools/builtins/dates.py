"""``date_calc``: calendar arithmetic (add/subtract days, weeks, months, years), weekdays and differences.

Month and year steps use :class:`dateutil.relativedelta.relativedelta` (Jan 31 + 1 month = Feb 28/29).
Dates are ISO ``YYYY-MM-DD``; other spellings ("March 5, 2024") are read by ``dateutil.parser``; ``today``
is today's local date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta

from umi_edge.tools.registry import tool
from umi_edge.tools.result import ToolError

MAX_SPAN_DAYS = 366 * 10_000


def parse_date(text: str, field: str = "date") -> dt.date:
    """A date from ISO text, ``today``, or a spelled-out date; ToolError names the field otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ToolError(f"{field} must be a date such as 2024-03-05")
    s = text.strip()
    if s.lower() == "today":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        pass
    try:
        return date_parser.parse(s, default=dt.datetime(2000, 1, 1)).date()
    except (ValueError, OverflowError, date_parser.ParserError):
        raise ToolError(f"{field} '{text}' is not a date; use YYYY-MM-DD") from None


def _describe(d: dt.date) -> dict[str, Any]:
    iso = d.isocalendar()
    return {
        "date": d.isoformat(),
        "weekday": d.strftime("%A"),
        "iso_week": iso.week,
        "day_of_year": d.timetuple().tm_yday,
        "is_weekend": d.weekday() >= 5,
    }


def weekdays_between(start: dt.date, end: dt.date) -> int:
    """Number of Monday–Friday days in ``[start, end)`` (negative when ``end`` is before ``start``)."""
    if end < start:
        return -weekdays_between(end, start)
    days = (end - start).days
    full, rest = divmod(days, 7)
    count = full * 5
    for i in range(rest):
        if (start.weekday() + i) % 7 < 5:
            count += 1
    return count


@tool(
    keywords="date dates day days week weeks month months year years today tomorrow yesterday weekday calendar "
    "deadline birthday anniversary ago later earlier before after since until between long january february march "
    "april may june july august september october november december monday tuesday wednesday thursday friday "
    "saturday sunday"
)
def date_calc(
    operation: Literal["add", "subtract", "difference", "weekday"],
    date: str,
    other_date: str | None = None,
    days: int = 0,
    weeks: int = 0,
    months: int = 0,
    years: int = 0,
) -> dict[str, Any]:
    """Date arithmetic: add or subtract a period, the difference between two dates, or the weekday of a date.

    Args:
        operation: "add" or "subtract" a period (days/weeks/months/years) to date; "difference" from date to
            other_date; "weekday" describes date (weekday name, ISO week, day of year).
        date: A date as YYYY-MM-DD (or "today").
        other_date: The second date for "difference", as YYYY-MM-DD.
        days: Days to add or subtract.
        weeks: Weeks to add or subtract.
        months: Months to add or subtract.
        years: Years to add or subtract.
    """
    start = parse_date(date, "date")
    if operation in ("add", "subtract"):
        if not any((days, weeks, months, years)):
            raise ToolError(f"'{operation}' needs at least one of days, weeks, months, years")
        if abs(days) + abs(weeks) * 7 + abs(months) * 31 + abs(years) * 366 > MAX_SPAN_DAYS:
            raise ToolError("the period is too long")
        sign = 1 if operation == "add" else -1
        try:
            result = start + sign * relativedelta(years=years, months=months, weeks=weeks, days=days)
        except (OverflowError, ValueError):
            raise ToolError("the resulting date is out of range (years 1 to 9999)") from None
        return {"start": start.isoformat(), "operation": operation, **_describe(result)}
    if operation == "difference":
        if other_date is None:
            raise ToolError("'difference' needs other_date")
        end = parse_date(other_date, "other_date")
        delta = relativedelta(end, start)
        n = (end - start).days
        return {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "days": n,
            "weeks": round(n / 7, 2),
            "years_months_days": [delta.years, delta.months, delta.days],
            "weekdays": weekdays_between(start, end),
        }
    if operation == "weekday":
        return _describe(start)
    raise ToolError(f"unknown operation '{operation}'")
