"""Taiwan working days: weekends, national holidays, adjusted days off and make-up Saturdays (補班)."""

import datetime

import pytest

from civicstack.core import working_days

D = datetime.date


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2024, 10, 9), True),  # an ordinary Wednesday
        (D(2024, 10, 12), False),  # an ordinary Saturday
        (D(2024, 10, 10), False),  # National Day (國慶日)
        (D(2024, 2, 8), False),  # adjusted day off before Lunar New Year 2024 (調整放假)
        (D(2024, 2, 17), True),  # its make-up working Saturday (補班)
        (D(2023, 1, 7), True),  # make-up Saturday for 2023-01-20
        (D(2023, 1, 20), False),
        (D(2025, 2, 8), True),  # make-up Saturday for 2025-01-27
        (D(2025, 1, 27), False),
        (D(2019, 10, 5), True),  # make-up Saturday for 2019-10-11
        (D(2019, 10, 11), False),
    ],
)
def test_is_working_day(day, expected):
    assert working_days.is_working_day(day) is expected


def test_add_working_days_skips_the_lunar_new_year_and_counts_the_make_up_saturday():
    # Wed 2024-02-07 + 3 working days: 8–14 Feb are off, Sat 17 Feb is a make-up working day.
    assert working_days.add_working_days(D(2024, 2, 7), 1) == D(2024, 2, 15)
    assert working_days.add_working_days(D(2024, 2, 7), 2) == D(2024, 2, 16)
    assert working_days.add_working_days(D(2024, 2, 7), 3) == D(2024, 2, 17)
    assert working_days.add_working_days(D(2024, 2, 7), 4) == D(2024, 2, 19)


def test_add_working_days_over_a_weekend_and_national_day():
    # Tue 2024-10-08 + 3: Wed 9, (Thu 10 National Day), Fri 11, (weekend), Mon 14.
    assert working_days.add_working_days(D(2024, 10, 8), 3) == D(2024, 10, 14)


def test_zero_days_rolls_forward_to_a_working_day():
    assert working_days.add_working_days(D(2024, 10, 10), 0) == D(2024, 10, 11)
    assert working_days.add_working_days(D(2024, 10, 9), 0) == D(2024, 10, 9)


def test_between_is_the_inverse_of_add():
    start = D(2024, 1, 31)
    for days in (0, 1, 5, 20, 60):
        end = working_days.add_working_days(start, days)
        assert working_days.working_days_between(start, end) == days
    assert working_days.working_days_between(D(2024, 10, 14), D(2024, 10, 8)) == -3


def test_holiday_name_and_bad_input():
    assert working_days.holiday_name(D(2024, 10, 10))
    assert working_days.holiday_name(D(2024, 10, 9)) is None
    with pytest.raises(ValueError):
        working_days.add_working_days(D(2024, 1, 1), -1)
    with pytest.raises(ValueError):
        working_days.is_working_day(D(1990, 1, 1))
    with pytest.raises(TypeError):
        working_days.is_working_day(datetime.datetime(2024, 1, 1))  # noqa: DTZ001
