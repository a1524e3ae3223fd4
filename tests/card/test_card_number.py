from hypothesis import given
from hypothesis import strategies as st

from civicstack.card import card_number
from civicstack.card.models.kinds import CardKind


def test_known_luhn_value():
    # The textbook example of ISO/IEC 7812: 7992739871 has check digit 3.
    assert card_number.luhn_check_digit("7992739871") == "3"


@given(kind=st.sampled_from(CardKind.values), serial=st.integers(0, 10**10 - 1))
def test_every_generated_number_is_well_formed(kind, serial):
    number = card_number.from_serial(kind, serial)
    assert len(number) == 16
    assert number.startswith(card_number.ISSUER_PREFIX + card_number.KIND_DIGITS[kind])
    assert card_number.is_well_formed(number)


@given(serial=st.integers(0, 10**10 - 1), position=st.integers(0, 15), delta=st.integers(1, 9))
def test_any_single_digit_error_is_caught(serial, position, delta):
    number = card_number.from_serial("general", serial)
    wrong = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    assert not card_number.is_well_formed(wrong)


def test_adjacent_swap_is_caught():
    number = card_number.from_serial("senior", 1234567890)
    for i in range(4, 15):
        if number[i] != number[i + 1] and {number[i], number[i + 1]} != {"0", "9"}:
            swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
            assert not card_number.is_well_formed(swapped)


def test_normalize_and_malformed():
    number = card_number.from_serial("student", 42)
    spaced = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    assert card_number.normalize(spaced) == number
    assert not card_number.is_well_formed("abc")
    assert not card_number.is_well_formed("１" * 16)  # full-width digits are not ASCII
    assert not card_number.is_well_formed("9800" + number[4:])  # another issuer
