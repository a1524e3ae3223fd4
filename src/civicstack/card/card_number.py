"""Card numbers: 16 digits, ``6800`` (the city's issuer prefix, after Taoyuan's area code 68000),
one digit for the card kind, 10 random digits and a Luhn check digit (ISO/IEC 7812, the check
every card reader and payment terminal already knows). Random rather than counted, so a number
seen on one card says nothing about the next."""

import secrets

ISSUER_PREFIX = "6800"
LENGTH = 16
KIND_DIGITS = {
    "general": "1", "student": "2", "senior": "3", "disability": "4", "companion": "5", "mobile": "6",
    "cobranded": "7",
}  # fmt: skip


def normalize(value: str) -> str:
    if value.isdigit():  # as readers send it: nothing to strip
        return value
    return "".join(ch for ch in (value or "") if not ch.isspace() and ch != "-")


def luhn_check_digit(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # doubled: the rightmost digit of the body sits left of the check digit
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_well_formed(value: str) -> bool:
    return (
        len(value) == LENGTH
        and value.isascii()
        and value.isdigit()
        and value.startswith(ISSUER_PREFIX)
        and luhn_check_digit(value[:-1]) == value[-1]
    )


def from_serial(kind: str, serial: int) -> str:
    body = f"{ISSUER_PREFIX}{KIND_DIGITS[kind]}{serial:010d}"
    return body + luhn_check_digit(body)


def generate(kind: str) -> str:
    return from_serial(kind, secrets.randbelow(10**10))
