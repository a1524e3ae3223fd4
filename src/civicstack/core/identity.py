"""Taiwan personal identification numbers: the national ID (身分證統一編號) and the resident
certificate number (居留證統一證號, old two-letter and 2021 numeric formats).

Both carry a check digit computed from a table of letter codes; see the Ministry of the
Interior's rules. The mask shown in pages, logs and API lists is ``A12****789``.
"""

import random
import re
import unicodedata

LETTER_CODES = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17, "I": 34, "J": 18,
    "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23, "Q": 24, "R": 25, "S": 26, "T": 27,
    "U": 28, "V": 29, "W": 32, "X": 30, "Y": 31, "Z": 33,
}  # fmt: skip
WEIGHTS = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)

NATIONAL_ID = "national_id"
RESIDENT_CERTIFICATE = "resident_certificate"

# [0-9], not \d: \d also matches other scripts' digits, which must never validate as-is.
_NATIONAL_ID_RE = re.compile(r"^[A-Z][12][0-9]{8}$")
_RESIDENT_NEW_RE = re.compile(r"^[A-Z][89][0-9]{8}$")
_RESIDENT_OLD_RE = re.compile(r"^[A-Z][A-D][0-9]{8}$")


class InvalidIdentifier(ValueError):
    """The string is not a valid Taiwan national ID or resident certificate number."""


def normalize(value: str) -> str:
    """Upper case, no spaces or hyphens, and full-width characters (as Chinese input methods
    type them, e.g. Ａ１２３) folded to ASCII, so one number always has one spelling."""
    value = unicodedata.normalize("NFKC", value)
    return value.strip().upper().replace(" ", "").replace("-", "")


def _digits(value: str) -> list[int]:
    letter = LETTER_CODES[value[0]]
    second = LETTER_CODES[value[1]] % 10 if value[1].isalpha() else int(value[1])
    return [letter // 10, letter % 10, second, *(int(c) for c in value[2:])]


def checksum_ok(value: str) -> bool:
    return sum(d * w for d, w in zip(_digits(value), WEIGHTS, strict=True)) % 10 == 0


def identifier_kind(value: str) -> str | None:
    """Return NATIONAL_ID or RESIDENT_CERTIFICATE for a well-formed number with a good check digit."""
    value = normalize(value)
    if _NATIONAL_ID_RE.match(value):
        kind = NATIONAL_ID
    elif _RESIDENT_NEW_RE.match(value) or _RESIDENT_OLD_RE.match(value):
        kind = RESIDENT_CERTIFICATE
    else:
        return None
    return kind if checksum_ok(value) else None


def validate(value: str) -> tuple[str, str]:
    """Return (normalized number, kind) or raise InvalidIdentifier with a reason a person can act on."""
    normalized = normalize(value)
    if not (
        _NATIONAL_ID_RE.match(normalized)
        or _RESIDENT_NEW_RE.match(normalized)
        or _RESIDENT_OLD_RE.match(normalized)
    ):
        raise InvalidIdentifier(
            "must be a letter followed by 1/2 (national ID), 8/9 or A-D (resident certificate) and 8 digits"
        )
    if not checksum_ok(normalized):
        raise InvalidIdentifier("check digit does not match")
    return normalized, identifier_kind(normalized)


def mask(value: str) -> str:
    """``A123456789`` → ``A12****789``: enough for a person to recognise their own number."""
    value = normalize(value)
    if len(value) != 10:
        return "*" * len(value)
    return f"{value[:3]}****{value[7:]}"


def mask_name(name: str) -> str:
    """王小明 → 王○明, 王明 → 王○, 歐陽娜娜 → 歐○○娜: enough for the person to recognise, not more."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "○"
    return name[0] + "○" * (len(name) - 2) + name[-1]


def check_digit_for(first_nine: str) -> str:
    """The digit that completes a 9-character prefix into a valid number."""
    partial = sum(d * w for d, w in zip(_digits(first_nine + "0"), WEIGHTS, strict=True))
    return str((10 - partial % 10) % 10)


def generate(rng: random.Random, *, letter: str = "H", sex: str = "M", resident: bool = False) -> str:
    """A random valid number (for demo data and tests). ``sex`` is ``M`` or ``F``."""
    if resident:
        second = "8" if sex == "M" else "9"
    else:
        second = "1" if sex == "M" else "2"
    prefix = f"{letter}{second}{rng.randrange(10**7):07d}"
    return prefix + check_digit_for(prefix)
