"""Worked examples of the benefit rules (pure pricing, no database)."""

import datetime
import zoneinfo

import pytest

from civicstack.card.rules import Rule, Use, price, validate_params

TPE = zoneinfo.ZoneInfo("Asia/Taipei")
BOGO = Rule("bus-bogo", "nth_use_free", "bus_bogo", params={"every": 2, "day_starts_at": "00:00"})
METRO = Rule("metro-20", "percent_off", "metro_discount", params={"percent": 20})
POINTS_BUS = Rule(
    "welfare-bus",
    "pay_with_points",
    "bus_bogo",
    card_kinds=("senior", "disability"),
    params={"cap_per_use": None},
)
POINTS_TAXI = Rule(
    "welfare-taxi", "pay_with_points", "love_taxi", card_kinds=("senior", "disability"),
    params={"cap_per_use": 85}, effective_from=datetime.date(2019, 3, 1),
)  # fmt: skip
STUDENT = Rule("student-fare", "amount_off", "bus_bogo", card_kinds=("student",), params={"amount": 6})


def at(day, hour, minute=0):
    return datetime.datetime(2019, 1, day, hour, minute, tzinfo=TPE)


def test_second_bus_ride_of_the_day_is_free_and_the_third_is_paid():
    first = price(Use("general", "bus_bogo", at(7, 8), 18, stored_value=100), [BOGO])
    second = price(Use("general", "bus_bogo", at(7, 18), 18, [at(7, 8)], stored_value=100), [BOGO])
    third = price(Use("general", "bus_bogo", at(7, 20), 18, [at(7, 8), at(7, 18)], stored_value=100), [BOGO])
    assert (first.from_value, second.from_value, third.from_value) == (18, 0, 18)
    assert second.applied == [{"rule": "bus-bogo", "kind": "nth_use_free", "before": 18, "after": 0}]


def test_buy_one_get_one_does_not_cross_midnight():
    late = at(7, 23, 50)
    after_midnight = price(Use("general", "bus_bogo", at(8, 0, 10), 18, [late], stored_value=100), [BOGO])
    assert after_midnight.from_value == 18


def test_a_service_day_starting_at_4_keeps_the_night_ride_on_the_same_ticket():
    night = Rule("bus-bogo-night", "nth_use_free", "bus_bogo", params={"every": 2, "day_starts_at": "04:00"})
    late = at(7, 23, 50)
    assert (
        price(Use("general", "bus_bogo", at(8, 0, 10), 18, [late], stored_value=100), [night]).from_value == 0
    )
    assert (
        price(Use("general", "bus_bogo", at(8, 4, 10), 18, [late], stored_value=100), [night]).from_value
        == 18
    )


def test_uses_uploaded_out_of_order_count_only_if_earlier():
    later = at(7, 18)
    charge = price(Use("general", "bus_bogo", at(7, 8), 18, [later], stored_value=100), [BOGO])
    assert charge.from_value == 18


@pytest.mark.parametrize(("fare", "due"), [(20, 16), (25, 20), (33, 26), (37, 30), (1, 1)])
def test_metro_twenty_percent_off_rounds_half_up(fare, due):
    assert price(Use("general", "metro_discount", at(7, 9), fare, stored_value=100), [METRO]).due == due


def test_points_pay_first_and_a_shortfall_comes_from_stored_value():
    charge = price(Use("senior", "bus_bogo", at(7, 9), 18, points=10, stored_value=50), [BOGO, POINTS_BUS])
    assert (charge.from_points, charge.from_value) == (10, 8)
    assert charge.applied == [{"rule": "welfare-bus", "kind": "pay_with_points", "points": 10}]


def test_points_do_not_serve_a_general_card():
    charge = price(Use("general", "bus_bogo", at(7, 9), 18, points=500, stored_value=50), [POINTS_BUS])
    assert (charge.from_points, charge.from_value) == (0, 18)


def test_taxi_points_are_capped_per_ride_and_start_on_1_march_2019():
    rules = [POINTS_TAXI]
    before = price(Use("disability", "love_taxi", at(28, 9), 200, points=800, stored_value=500), rules)
    assert before.from_points == 0 and before.from_value == 200  # January: not yet in force
    march = datetime.datetime(2019, 3, 1, 9, tzinfo=TPE)
    after = price(Use("disability", "love_taxi", march, 200, points=800, stored_value=500), rules)
    assert (after.from_points, after.from_value) == (85, 115)


def test_insufficient_funds_is_refused_not_partly_charged():
    charge = price(Use("senior", "bus_bogo", at(7, 9), 18, points=5, stored_value=10), [POINTS_BUS])
    assert charge.refusal == "insufficient_funds" and not charge.accepted


def test_student_subsidy_and_free_ride_combine():
    rules = [BOGO, STUDENT]
    first = price(Use("student", "bus_bogo", at(7, 7), 18, stored_value=100), rules)
    second = price(Use("student", "bus_bogo", at(7, 16), 18, [at(7, 7)], stored_value=100), rules)
    assert first.from_value == 12 and second.from_value == 0
    assert [a["rule"] for a in first.applied] == ["student-fare"]


def test_rules_outside_their_dates_do_not_apply():
    ended = Rule("old", "percent_off", "metro_discount", params={"percent": 50},
                 effective_until=datetime.date(2018, 12, 31))  # fmt: skip
    assert price(Use("general", "metro_discount", at(7, 9), 20, stored_value=100), [ended, METRO]).due == 16


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("percent_off", {"percent": 0}),
        ("percent_off", {"percent": 101}),
        ("percent_off", {"percent": 12.5}),
        ("amount_off", {"amount": -1}),
        ("nth_use_free", {"every": 1}),
        ("nth_use_free", {"every": 2, "day_starts_at": "25:00"}),
        ("pay_with_points", {"cap_per_use": 0}),
        ("teleport", {}),
    ],
)
def test_bad_parameters_are_refused(kind, params):
    with pytest.raises(ValueError):
        validate_params(kind, params)


@pytest.mark.parametrize("day_starts_at", ["00:00", "04:00"])
def test_uses_in_utc_are_priced_by_the_local_service_day(day_starts_at):
    """Settlement hands times over in UTC (as the database returns earlier uses): the service day
    is still the local one, so a ride at 15:50 UTC (23:50 in Taipei) and one at 16:10 UTC (00:10
    the next day in Taipei) are on different tickets unless the day starts at 04:00."""
    rule = Rule("bus-bogo", "nth_use_free", "bus_bogo", params={"every": 2, "day_starts_at": day_starts_at})
    utc = datetime.UTC
    late, after_midnight = at(7, 23, 50), at(8, 0, 10)
    local = price(Use("general", "bus_bogo", after_midnight, 18, [late], stored_value=100), [rule], TPE)
    in_utc = price(
        Use(
            "general",
            "bus_bogo",
            after_midnight.astimezone(utc),
            18,
            [late.astimezone(utc)],
            stored_value=100,
        ),
        [rule],
        TPE,
    )
    assert local.from_value == in_utc.from_value == (0 if day_starts_at == "04:00" else 18)
