"""Case numbers the public types in: 12 characters from an alphabet without look-alikes (no 0/O,
1/I/L), 11 random and one check character (Luhn mod 31), so a mistyped number is refused before
any database query and numbers cannot be guessed by counting (31^11 ≈ 2.5 × 10^16)."""

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 characters
LENGTH = 12
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def normalize(value: str) -> str:
    return value.strip().upper().replace("-", "").replace(" ", "")


def check_character(body: str) -> str:
    """Luhn mod N over the alphabet: catches every single-character error and most adjacent swaps."""
    base = len(ALPHABET)
    factor, total = 2, 0
    for char in reversed(body):
        addend = factor * _INDEX[char]
        factor = 1 if factor == 2 else 2
        total += addend // base + addend % base
    return ALPHABET[(base - total % base) % base]


def is_well_formed(value: str) -> bool:
    if len(value) != LENGTH or any(c not in _INDEX for c in value):
        return False
    return check_character(value[:-1]) == value[-1]


def generate() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH - 1))
    return body + check_character(body)


def formatted(value: str) -> str:
    """``ABCD2345EFGH`` → ``ABCD-2345-EFGH`` for printing; input accepts either."""
    return "-".join(value[i : i + 4] for i in range(0, len(value), 4))
