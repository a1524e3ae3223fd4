"""Virtual bank account numbers (虛擬帳號) for ATM and bank transfer payments.

The collecting bank gives the city a prefix; the city makes one account number per bill, and
the bank's daily settlement file names the account a transfer went into. Every bank has its
own rule (length, where the check digits go, whether the amount or due date is folded in), so
the rule is a small plug-in, :class:`VirtualAccountRule`, chosen by name from a registry.

The one rule shipped, :class:`WeightedCheckRule`, is an EXAMPLE of the usual shape; a bank's
real specification replaces it (register another rule under the bank's name). It makes
14-digit numbers::

    prefix (bank-assigned, e.g. 5 digits) + serial (zero-padded to fill 12 digits) + C1 + C2

* ``C1`` covers the account alone: the first 12 digits are weighted 3, 7, 1, 3, 7, 1, ...
  from the left, summed, and ``C1 = (10 - sum % 10) % 10``. Because 3, 7 and 1 are all
  coprime with 10, any single mistyped digit changes ``C1``, and so do most swaps of two
  adjacent digits; a person can be told "this account number has a typo" without knowing
  the amount.
* ``C2`` covers the account AND the amount: the 13 digits (prefix, serial, C1) followed by
  the amount zero-padded to 10 digits are weighted 3, 7, 1, ... and ``C2 = (10 - sum % 10) %
  10``. A transfer of a wrong amount into a valid account number is caught whenever the
  amount differs in one digit (always) or in several (9 times in 10). It is a screen, not a
  proof: reconciliation still compares the amount with the order.

The due date is not part of this rule (``make`` accepts it because several banks do fold it
in, e.g. as a day-of-year, and reject transfers after it).
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

ACCOUNT_LENGTH = 14
_WEIGHTS = (3, 7, 1)
_AMOUNT_WIDTH = 10
_DIGITS_RE = re.compile(r"^[0-9]+$")


class InvalidVirtualAccount(ValueError):
    """The data for a virtual account number is not acceptable (bad serial, amount, prefix)."""


class UnknownRule(LookupError):
    """No virtual-account rule is registered under that name."""


@runtime_checkable
class VirtualAccountRule(Protocol):
    """A bank's virtual-account numbering rule."""

    name: str

    def make(self, *, serial: int, amount: int, due_date: date) -> str:
        """The account number for bill ``serial`` of ``amount`` NT$ due on ``due_date``."""
        ...

    def verify(self, account: str, *, amount: int | None = None) -> bool:
        """Whether ``account`` is well formed, and (given ``amount``) belongs to a bill of that amount."""
        ...


def _weighted_check(digits: str) -> int:
    total = sum(int(d) * _WEIGHTS[i % len(_WEIGHTS)] for i, d in enumerate(digits))
    return (10 - total % 10) % 10


def _check_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError(f"amount must be an int number of NT$, not {type(amount).__name__}")
    if amount <= 0:
        raise InvalidVirtualAccount(f"amount must be a positive number of NT$, got {amount}")
    if amount >= 10**_AMOUNT_WIDTH:
        raise InvalidVirtualAccount(f"amount NT${amount:,} has more than {_AMOUNT_WIDTH} digits")


@dataclass(frozen=True)
class WeightedCheckRule:
    """The example 14-digit rule (module docstring): prefix + serial + account check + amount check."""

    prefix: str
    name: str = "example-weighted"

    def __post_init__(self) -> None:
        if not _DIGITS_RE.match(self.prefix) or not 3 <= len(self.prefix) <= 8:
            raise InvalidVirtualAccount(
                f"the bank-assigned prefix must be 3 to 8 digits, got {self.prefix!r}"
            )

    @property
    def serial_width(self) -> int:
        return ACCOUNT_LENGTH - 2 - len(self.prefix)

    @property
    def max_serial(self) -> int:
        return 10**self.serial_width - 1

    def make(self, *, serial: int, amount: int, due_date: date) -> str:
        if not isinstance(serial, int) or isinstance(serial, bool):
            raise TypeError(f"serial must be an int, not {type(serial).__name__}")
        if not 0 <= serial <= self.max_serial:
            raise InvalidVirtualAccount(
                f"serial must be between 0 and {self.max_serial} for prefix {self.prefix} "
                f"({self.serial_width} digits), got {serial}: ask the bank for another prefix"
            )
        _check_amount(amount)
        body = f"{self.prefix}{serial:0{self.serial_width}d}"
        body += str(_weighted_check(body))
        return body + str(_weighted_check(body + f"{amount:0{_AMOUNT_WIDTH}d}"))

    def verify(self, account: str, *, amount: int | None = None) -> bool:
        if not isinstance(account, str):
            return False
        account = account.strip().replace(" ", "").replace("-", "")
        if len(account) != ACCOUNT_LENGTH or not _DIGITS_RE.match(account) or not account.isascii():
            return False
        if not account.startswith(self.prefix):
            return False
        if int(account[12]) != _weighted_check(account[:12]):
            return False
        if amount is None:
            return True
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount < 10**_AMOUNT_WIDTH:
            return False
        return int(account[13]) == _weighted_check(account[:13] + f"{amount:0{_AMOUNT_WIDTH}d}")

    def serial_of(self, account: str) -> int:
        """The serial inside a (verified) account number."""
        return int(account[len(self.prefix) : 12])


def format_account(account: str) -> str:
    """``99012000004273`` → ``9901 2000 0042 73``: groups of four, as printed on a bill."""
    return " ".join(account[i : i + 4] for i in range(0, len(account), 4))


EXAMPLE_RULE = WeightedCheckRule(prefix="99012")
"""The example rule with a made-up prefix, for demo data and tests. Real deployments register
their bank's rule (and prefix) under the bank's name."""

_registry: dict[str, VirtualAccountRule] = {}


def register_rule(rule: VirtualAccountRule, *, replace: bool = False) -> VirtualAccountRule:
    """Make ``rule`` available to :func:`get_rule` under ``rule.name``."""
    if not isinstance(rule, VirtualAccountRule):
        raise TypeError(f"{rule!r} does not implement VirtualAccountRule (name, make, verify)")
    existing = _registry.get(rule.name)
    if existing is not None and existing != rule and not replace:
        raise ValueError(
            f"a different virtual-account rule is already registered as {rule.name!r}; pass replace=True to swap it"
        )
    _registry[rule.name] = rule
    return rule


def get_rule(name: str) -> VirtualAccountRule:
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry)) or "none"
        raise UnknownRule(f"no virtual-account rule named {name!r} (registered: {known})") from None


register_rule(EXAMPLE_RULE)
