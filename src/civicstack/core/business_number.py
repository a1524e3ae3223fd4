"""Taiwan's unified business number (營利事業統一編號, "統編"): 8 digits, the last a check digit.

The rule (財政部「營利事業統一編號檢查碼邏輯修正說明」): multiply the digits by the weights
1, 2, 1, 2, 1, 2, 4, 1, add the two digits of each product, and sum the eight results. Since
2023-04-01 the number is valid when that sum is divisible by 5; before, it had to be divisible
by 10. Every number valid under the old rule is valid under the new one, so accepting the new
rule accepts both. When the 7th digit is 7 its product is 28, whose digits add to 10, and the
rule lets that 10 count as either 1 or 0: the number is valid when either sum passes.

This checks the form only; it does not say that a business with the number exists.
"""

import unicodedata

WEIGHTS = (1, 2, 1, 2, 1, 2, 4, 1)
CURRENT_DIVISOR = 5  # since 2023-04-01
LEGACY_DIVISOR = 10  # numbers issued before 2023 also pass this


def normalize(value: str) -> str:
    """Full-width digits (as Chinese input methods type them) folded to ASCII, spaces and
    hyphens removed."""
    return unicodedata.normalize("NFKC", value).strip().replace(" ", "").replace("-", "")


def _digit_sum(product: int) -> int:
    return product // 10 + product % 10


def _sums(value: str) -> tuple[int, ...]:
    """The weighted digit sum, and for a 7th digit of 7 also the sum with that 10 counted as 0."""
    total = sum(_digit_sum(int(digit) * weight) for digit, weight in zip(value, WEIGHTS, strict=True))
    if value[6] == "7":
        # 7 × 4 = 28 → 2 + 8 = 10, which may count as 1 (1 + 0) or as 0.
        return total - 9, total - 10
    return (total,)


def checksum_ok(value: str, *, divisor: int = CURRENT_DIVISOR) -> bool:
    return any(total % divisor == 0 for total in _sums(value))


def is_well_formed(value: str) -> bool:
    return len(value) == 8 and all("0" <= c <= "9" for c in value)


def validate_business_number(value: str, *, legacy_rule: bool = False) -> str:
    """Return the normalized 8-digit number, or raise ValueError with a reason a person can act on.

    ``legacy_rule=True`` applies the pre-2023 rule (sum divisible by 10) only.
    """
    if not isinstance(value, str):
        raise ValueError("a unified business number is a string of 8 digits")
    number = normalize(value)
    # Explicit ASCII ranges: str.isdigit() also accepts other scripts' digits and superscripts.
    if not is_well_formed(number):
        raise ValueError("a unified business number has exactly 8 digits")
    if not checksum_ok(number, divisor=LEGACY_DIVISOR if legacy_rule else CURRENT_DIVISOR):
        raise ValueError("check digit does not match")
    return number


def is_valid(value: str) -> bool:
    try:
        validate_business_number(value)
    except ValueError:
        return False
    return True


def check_digit_for(first_seven: str, *, divisor: int = LEGACY_DIVISOR) -> str:
    """A last digit that completes ``first_seven`` into a valid number (by default one valid under
    the old rule as well, so it passes every checker, old or new). Demo data and tests use it."""
    for last in "0123456789":
        if checksum_ok(first_seven + last, divisor=divisor):
            return last
    raise ValueError(f"no check digit completes {first_seven!r}")  # cannot happen for divisor 5 or 10
