"""Virtual account numbers: the example weighted rule and the rule registry."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstack.payments.channels.virtual_account import (
    EXAMPLE_RULE,
    InvalidVirtualAccount,
    UnknownRule,
    VirtualAccountRule,
    WeightedCheckRule,
    format_account,
    get_rule,
    register_rule,
)

DUE = date(2025, 3, 31)


def test_worked_example_from_the_docs():
    # Worked by hand in docs/payments-formats.md: C1 = 3, C2 = 0.
    account = EXAMPLE_RULE.make(serial=42, amount=1830, due_date=DUE)
    assert account == "99012000004230"
    assert EXAMPLE_RULE.verify(account)
    assert EXAMPLE_RULE.verify(account, amount=1830)
    assert not EXAMPLE_RULE.verify(account, amount=1800)
    assert format_account(account) == "9901 2000 0042 30"
    assert EXAMPLE_RULE.serial_of(account) == 42


def test_registry():
    assert get_rule("example-weighted") is EXAMPLE_RULE
    assert isinstance(EXAMPLE_RULE, VirtualAccountRule)
    bank = register_rule(WeightedCheckRule(prefix="81234567", name="test-bank-8"))
    assert get_rule("test-bank-8") is bank
    assert bank.make(serial=1234, amount=5, due_date=DUE).startswith("812345671234")
    with pytest.raises(ValueError, match="already registered"):
        register_rule(WeightedCheckRule(prefix="81234568", name="test-bank-8"))
    register_rule(WeightedCheckRule(prefix="81234568", name="test-bank-8"), replace=True)
    assert get_rule("test-bank-8").prefix == "81234568"
    with pytest.raises(UnknownRule, match="example-weighted"):
        get_rule("no-such-bank")
    with pytest.raises(TypeError, match="VirtualAccountRule"):
        register_rule(object())


@pytest.mark.parametrize("prefix", ["12", "123456789", "12a45", ""])
def test_prefix_must_be_3_to_8_digits(prefix):
    with pytest.raises(InvalidVirtualAccount, match="prefix"):
        WeightedCheckRule(prefix=prefix)


@pytest.mark.parametrize(
    ("serial", "amount", "error", "message"),
    [
        (-1, 100, InvalidVirtualAccount, "serial"),
        (10**7, 100, InvalidVirtualAccount, "another prefix"),
        (1, 0, InvalidVirtualAccount, "positive"),
        (1, 10**10, InvalidVirtualAccount, "digits"),
        (1, 100.0, TypeError, "int"),
        (True, 100, TypeError, "int"),
    ],
)
def test_make_refuses_bad_input(serial, amount, error, message):
    with pytest.raises(error, match=message):
        EXAMPLE_RULE.make(serial=serial, amount=amount, due_date=DUE)


@pytest.mark.parametrize(
    "account",
    [
        "9901200000423",
        "990120000042300",
        "99012000004240",
        "88012000004230",
        "9901200000423x",
        99012000004230,
    ],
)
def test_verify_rejects_malformed_or_foreign_numbers(account):
    assert not EXAMPLE_RULE.verify(account)


def test_the_amount_digit_is_only_checked_when_the_amount_is_given():
    assert EXAMPLE_RULE.verify("99012000004231")  # C1 is right; C2 needs the amount
    assert not EXAMPLE_RULE.verify("99012000004231", amount=1830)
    assert not EXAMPLE_RULE.verify("99012000004230", amount=0)
    assert not EXAMPLE_RULE.verify("99012000004230", amount=True)


def test_verify_tolerates_printed_spacing():
    assert EXAMPLE_RULE.verify("9901 2000 0042 30", amount=1830)


serials = st.integers(min_value=0, max_value=EXAMPLE_RULE.max_serial)
amounts = st.integers(min_value=1, max_value=10**10 - 1)


@given(serial=serials, amount=amounts, data=st.data())
def test_any_single_digit_typo_is_caught(serial, amount, data):
    account = EXAMPLE_RULE.make(serial=serial, amount=amount, due_date=DUE)
    assert len(account) == 14 and EXAMPLE_RULE.verify(account, amount=amount)
    position = data.draw(st.integers(min_value=len(EXAMPLE_RULE.prefix), max_value=12))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != account[position]]))
    typo = account[:position] + digit + account[position + 1 :]
    assert not EXAMPLE_RULE.verify(typo)


@given(serial=serials, amount=amounts, data=st.data())
def test_a_wrong_amount_differing_in_one_digit_is_caught(serial, amount, data):
    account = EXAMPLE_RULE.make(serial=serial, amount=amount, due_date=DUE)
    digits = f"{amount:010d}"
    position = data.draw(st.integers(min_value=0, max_value=9))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != digits[position]]))
    wrong = int(digits[:position] + digit + digits[position + 1 :])
    if wrong > 0:
        assert not EXAMPLE_RULE.verify(account, amount=wrong)
