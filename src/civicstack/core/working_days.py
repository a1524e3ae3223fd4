"""Working days of Taiwan's government offices (上班日), for legal time limits (處理期限).

A day is a working day when it is a weekday that is not a public holiday or an adjusted day off
(調整放假), or when it is a Saturday made a working day (補班). The calendar is the one the
Directorate-General of Personnel Administration (DGPA, 行政院人事行政總處) publishes each year;
the ``holidays`` package ships it (``holidays.TW``), make-up working days included
(``weekend_workdays``), so nothing is fetched at run time.

Time limits count whole working days after the day of receipt: a case received on a Friday with
a limit of 1 working day is due on the next working day (usually Monday).
"""

import datetime
from functools import lru_cache

import holidays

FIRST_YEAR, LAST_YEAR = 2000, 2040


@lru_cache(maxsize=1)
def _calendar() -> holidays.HolidayBase:
    return holidays.TW(years=range(FIRST_YEAR, LAST_YEAR + 1))


def _check(day: datetime.date) -> None:
    if isinstance(day, datetime.datetime) or not isinstance(day, datetime.date):
        raise TypeError("a datetime.date is required")
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"the working-day calendar covers {FIRST_YEAR}–{LAST_YEAR}, not {day.year}")


def is_working_day(day: datetime.date) -> bool:
    _check(day)
    return _calendar().is_working_day(day)


def holiday_name(day: datetime.date) -> str | None:
    """The holiday's name (in English, as the package gives it), or None on an ordinary day."""
    _check(day)
    return _calendar().get(day)


def add_working_days(start: datetime.date, days: int) -> datetime.date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted).

    ``days=0`` gives ``start`` if it is a working day, else the next working day.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    _check(start)
    day = start
    if days == 0:
        while not is_working_day(day):
            day += datetime.timedelta(days=1)
        return day
    remaining = days
    while remaining:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """Working days in (start, end]: 0 when end == start, negative when end is before start.

    ``working_days_between(d, add_working_days(d, n)) == n`` for every working day d and n >= 0.
    """
    _check(start)
    _check(end)
    if end < start:
        return -working_days_between(end, start)
    count, day = 0, start
    while day < end:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
