"""Taiwan national ID and resident certificate numbers: check digits, formats, normalisation, mask.

Pure functions: no database. The property tests draw every letter, both sexes and any 7 digits.
"""

import random
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstack.core import identity

# The check digit's weight for each character of a 10-character number (the letter is position 0
# and is turned into two digits with weights 1 and 9, hence its absence here).
POSITION_WEIGHTS = {1: 8, 2: 7, 3: 6, 4: 5, 5: 4, 6: 3, 7: 2, 8: 1, 9: 1}

letters = st.sampled_from(string.ascii_uppercase)
sexes = st.sampled_from(["M", "F"])
seven_digits = st.integers(min_value=0, max_value=10**7 - 1)


def number_from(letter: str, second: str, serial: int) -> str:
    prefix = f"{letter}{second}{serial:07d}"
    return prefix + identity.check_digit_for(prefix)


# --- known numbers -----------------------------------------------------------------------------


def test_the_textbook_national_id_is_valid():
    # given the number used in the Ministry of the Interior's examples
    # when it is validated
    result = identity.validate("A123456789")
    # then it is a national ID, unchanged
    assert result == ("A123456789", identity.NATIONAL_ID)
    assert identity.identifier_kind("A123456789") == identity.NATIONAL_ID
    assert identity.check_digit_for("A12345678") == "9"


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        # check digits computed independently of the code under test (weights 1,9,8,7,...,1,1)
        ("F131104093", identity.NATIONAL_ID),
        ("Z299999992", identity.NATIONAL_ID),
        ("I100000003", identity.NATIONAL_ID),
        ("O100000004", identity.NATIONAL_ID),
    ],
)
def test_other_known_national_ids_are_valid(number, kind):
    # given numbers whose check digit was computed by hand
    # when validated, then each is accepted as a national ID
    assert identity.validate(number) == (number, kind)


def test_check_digit_for_completes_every_letter_and_sex():
    # given a prefix for every letter and both sex digits
    for letter in string.ascii_uppercase:
        for second in "12":
            prefix = f"{letter}{second}0012345"
            # when completed with check_digit_for
            number = prefix + identity.check_digit_for(prefix)
            # then the number is a valid national ID
            assert identity.validate(number) == (number, identity.NATIONAL_ID), number


def test_every_wrong_check_digit_is_refused():
    # given a valid number's prefix and its one right check digit
    prefix = "A12345678"
    right = identity.check_digit_for(prefix)
    assert right == "9"
    # when each of the nine other digits is put in its place, then each is refused
    for digit in "0123456789".replace(right, ""):
        with pytest.raises(identity.InvalidIdentifier, match="check digit does not match"):
            identity.validate(prefix + digit)
        assert identity.identifier_kind(prefix + digit) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "A12345678",  # 9 characters
        "A1234567890",  # 11 characters
        "1123456789",  # digit where the letter goes
        "A323456789",  # 3 is neither a sex digit nor a resident marker
        "A023456789",
        "AE23456789",  # E is not an old-format resident letter
        "AZ23456789",
        "A12345678X",  # letter where the check digit goes
        "A1234567.9",
        "ÄA23456789",  # not an ASCII letter
        "A123456789A",
    ],
)
def test_badly_formed_numbers_are_refused_with_a_reason(value):
    # given a string that does not have the shape of any number
    # when validated, then it is refused naming the accepted shapes
    with pytest.raises(identity.InvalidIdentifier, match="must be a letter followed by"):
        identity.validate(value)
    assert identity.identifier_kind(value) is None


@pytest.mark.parametrize(
    "typed", ["a123456789", " A123456789 ", "A123-456-789", "a 1234 56789", "A-12345-6789", "\tA123456789\n"]
)
def test_lowercase_spaces_and_hyphens_are_normalised(typed):
    # given the textbook number typed with lowercase, spaces or hyphens
    # when validated
    # then it normalises to the canonical number
    assert identity.normalize(typed) == "A123456789"
    assert identity.validate(typed) == ("A123456789", identity.NATIONAL_ID)


def test_non_ascii_digits_never_validate_as_a_different_number():
    # given the textbook number with its last digit typed full-width (common with Chinese IMEs)
    typed = "A12345678\uff19"
    # when validated
    try:
        normalized, kind = identity.validate(typed)
    except identity.InvalidIdentifier:
        return  # refusing it is correct too
    # then, if accepted, it must be the same number as its ASCII spelling: otherwise the same
    # person gets a second lookup digest and can be registered twice
    assert (normalized, kind) == ("A123456789", identity.NATIONAL_ID)


# --- resident certificates ---------------------------------------------------------------------


def test_old_format_resident_certificates_use_the_second_letters_code():
    # given old-format numbers (letter + A-D + 8 digits): the second letter counts as the last
    # digit of its code (A=10→0, B=11→1, C=12→2, D=13→3)
    for second, as_digit in zip("ABCD", "0123", strict=True):
        prefix = f"A{second}1234567"
        # when completed and validated
        number = prefix + identity.check_digit_for(prefix)
        # then it is a resident certificate, and its check digit is the one its digit form has
        assert identity.validate(number) == (number, identity.RESIDENT_CERTIFICATE)
        assert identity.check_digit_for(prefix) == identity.check_digit_for(f"A{as_digit}1234567")


def test_a_known_old_format_resident_certificate():
    # given AC01234567 computed by hand: A=10 → 1,0; C → 2; then 0,1,2,3,4,5,6; check 7
    #   1*1 + 0*9 + 2*8 + 0*7 + 1*6 + 2*5 + 3*4 + 4*3 + 5*2 + 6*1 + 7*1 = 80
    # when validated, then it is accepted and a wrong check digit is not
    assert identity.validate("AC01234567") == ("AC01234567", identity.RESIDENT_CERTIFICATE)
    with pytest.raises(identity.InvalidIdentifier, match="check digit"):
        identity.validate("AC01234568")


@pytest.mark.parametrize("second", ["8", "9"])
def test_new_format_resident_certificates(second):
    # given a 2021-format number (letter + 8/9 + 8 digits)
    number = number_from("A", second, 1234567)
    # when validated, then it is a resident certificate
    assert identity.validate(number) == (number, identity.RESIDENT_CERTIFICATE)
    # and generate(resident=True) gives 8 for men and 9 for women
    rng = random.Random(7)
    assert identity.generate(rng, sex="M", resident=True)[1] == "8"
    assert identity.generate(rng, sex="F", resident=True)[1] == "9"


def test_a_known_new_format_resident_certificate():
    # given A800000014 computed by hand: 1*1 + 0*9 + 8*8 + 1*1 + 4*1 = 70
    assert identity.validate("A800000014") == ("A800000014", identity.RESIDENT_CERTIFICATE)
    assert identity.identifier_kind("A800000015") is None


def test_lowercase_old_format_second_letter_is_normalised():
    assert identity.validate("ac01234567") == ("AC01234567", identity.RESIDENT_CERTIFICATE)


# --- properties --------------------------------------------------------------------------------


@given(letter=letters, sex=sexes, serial=seven_digits, resident=st.booleans())
def test_generated_numbers_always_validate(letter, sex, serial, resident):
    # given any letter, sex and 7 digits
    class FixedRng(random.Random):
        def randrange(self, *args, **kwargs):
            return serial

    # when generate() draws that serial
    number = identity.generate(FixedRng(), letter=letter, sex=sex, resident=resident)
    # then the number has the expected shape and validate() accepts it as the right kind
    second = ("8" if sex == "M" else "9") if resident else ("1" if sex == "M" else "2")
    assert number[:9] == f"{letter}{second}{serial:07d}"
    expected_kind = identity.RESIDENT_CERTIFICATE if resident else identity.NATIONAL_ID
    assert identity.validate(number) == (number, expected_kind)
    # and check_digit_for on the same prefix gives the same number
    assert number == number[:9] + identity.check_digit_for(number[:9])


@given(
    letter=letters,
    second=st.sampled_from("1289ABCD"),
    serial=seven_digits,
    position=st.integers(min_value=1, max_value=9),
    replacement=st.sampled_from("0123456789"),
)
def test_changing_one_digit(letter, second, serial, position, replacement):
    # given a valid number of any kind
    number = number_from(letter, second, serial)
    assert identity.identifier_kind(number) is not None
    original = number[position]
    if original == replacement or not original.isdigit():
        return  # not a change of a digit (old-format second letters are letters)
    # when one of its digits is replaced
    changed = number[:position] + replacement + number[position + 1 :]
    valid = identity.identifier_kind(changed) is not None
    # then: the sex/kind digit and every digit whose weight is 1, 3, 7 or 9 catch any change.
    # The official algorithm's weights 2, 4, 5, 6 and 8 share a factor with 10, so a change of
    # 5 (or, for weight 5, of an even amount) keeps the sum a multiple of 10 -- the algorithm's
    # limit, which the validator must reproduce exactly.
    weight = POSITION_WEIGHTS[position]
    if position == 1 or weight in {1, 3, 7, 9}:
        assert not valid, (number, changed)
    else:
        assert valid == ((int(replacement) - int(original)) * weight % 10 == 0), (number, changed)


def test_single_digit_changes_on_weights_1_3_7_9_are_always_caught():
    # given the textbook number
    number = "A123456789"
    # when any digit at a position weighted 7, 3, 1 or 1 (the check digit) is changed
    for position in (2, 6, 8, 9):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            changed = number[:position] + digit + number[position + 1 :]
            # then it is refused
            with pytest.raises(identity.InvalidIdentifier, match="check digit"):
                identity.validate(changed)


def test_the_algorithm_cannot_catch_every_change_at_weight_5():
    # given the textbook number: position 4 (the digit 4) has weight 5
    # when it is changed by 2, the weighted sum changes by 10
    # then the official check digit still matches (documents the algorithm's limit)
    assert identity.identifier_kind("A123656789") == identity.NATIONAL_ID
    assert identity.identifier_kind("A123556789") is None


@given(letter=letters, second=st.sampled_from("1289ABCD"), serial=seven_digits)
def test_mask_shows_first_three_and_last_three_only(letter, second, serial):
    # given any valid number
    number = number_from(letter, second, serial)
    # when masked
    masked = identity.mask(number)
    # then it is the first 3 characters, four stars and the last 3
    assert masked == number[:3] + "****" + number[7:]
    assert len(masked) == 10
    # and the middle four digits are nowhere in it
    assert number[3:7] not in masked
    assert masked[3:7] == "****"


def test_mask_examples():
    assert identity.mask("A123456789") == "A12****789"
    assert identity.mask(" a123-456-789 ") == "A12****789"
    # anything that is not 10 characters is hidden whole
    assert identity.mask("A1234") == "*****"
    assert identity.mask("A12345678901") == "************"
