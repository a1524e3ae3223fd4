"""統一編號 check digits: the 2023 rule (sum divisible by 5), the old rule (by 10) and the
seventh-digit-7 case, with worked examples and property-based tests."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstack.core.business_number import check_digit_for, checksum_ok, is_valid, validate_business_number


@pytest.mark.parametrize(
    "number",
    [
        "04595257",  # weighted digit sum 40: valid under both rules
        "22099131",  # 2+4+0+9+9+2+(1+2)+1 = 30: valid under both rules
        "12345675",
        "10458575",  # 7th digit 7: 7×4=28 → 10, counted as 0: 1+0+4+1+8+1+0+5 = 20
        "10458574",  # 7th digit 7, counted as 0: 19; counted as 1: 20
        "10458570",  # passes only the 2023 rule (sum 35)
    ],
)
def test_valid_numbers(number):
    assert validate_business_number(number) == number


def test_the_2023_rule_accepts_numbers_the_old_rule_refused():
    # 1,0,4,5,8,5,7,0 → 1+0+4+(1+0)+8+(1+0)+(1+0 or 0)+0: 16 or 15 → only "divisible by 5" passes.
    assert checksum_ok("10458570", divisor=5)
    assert not checksum_ok("10458570", divisor=10)
    with pytest.raises(ValueError, match="check digit"):
        validate_business_number("10458570", legacy_rule=True)


@pytest.mark.parametrize(
    ("value", "reason"),
    [("0459525", "8 digits"), ("045952571", "8 digits"), ("0459525A", "8 digits"), ("04595258", "check digit"),
     ("22099132", "check digit"), ("", "8 digits"), ("٠٤٥٩٥٢٥٧", "8 digits")],
)  # fmt: skip
def test_invalid_numbers_say_why(value, reason):
    with pytest.raises(ValueError, match=reason):
        validate_business_number(value)


def test_full_width_digits_and_separators_are_folded():
    assert validate_business_number("０４５９５２５７") == "04595257"
    assert validate_business_number(" 0459-5257 ") == "04595257"


@given(st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_every_prefix_has_a_check_digit_valid_under_both_rules(prefix):
    number = prefix + check_digit_for(prefix)
    assert checksum_ok(number, divisor=10)
    assert is_valid(number)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_old_rule_valid_implies_new_rule_valid(number):
    if checksum_ok(number, divisor=10):
        assert checksum_ok(number, divisor=5)


@given(st.text(alphabet="0123456789", min_size=7, max_size=7), st.integers(0, 7), st.integers(1, 9))
def test_changing_one_digit_breaks_the_old_rule_unless_it_is_the_seventh_digit_seven(prefix, position, delta):
    number = prefix + check_digit_for(prefix)
    digits = list(number)
    digits[position] = str((int(digits[position]) + delta) % 10)
    changed = "".join(digits)
    if "7" not in (number[6], changed[6]):
        # Each weighted digit maps 0..9 to distinct digit sums mod 10, so one change is always caught.
        assert not checksum_ok(changed, divisor=10)


def test_rejects_non_strings():
    with pytest.raises(ValueError):
        validate_business_number(4595257)  # type: ignore[arg-type]
