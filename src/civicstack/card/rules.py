"""What a card use costs: benefit rules as data, applied in a fixed, documented order.

A rule names a function (``bus_bogo``, ``metro_discount``…), the card kinds it serves (empty: all),
the dates it is in force, and one of a few kinds with its parameters:

``nth_use_free``    {"every": 2, "day_starts_at": "00:00"}  every 2nd use of the function in the
                    (service) day is free: city bus buy-one-get-one.
``percent_off``     {"percent": 20}                         metro 20% off (NT$ rounded half up).
``amount_off``      {"amount": 6}                           a fixed subsidy per use (student fares).
``pay_with_points`` {"cap_per_use": 85}                     welfare points pay first, up to the cap
                    (null: no cap) and the points available; the stored value pays the rest.
``monthly_points``  {"points": 800, "district_points": {"68000130": 1000}}  the monthly welfare
                    allowance (not a price rule: the monthly grant job reads it).
``earn_points``     {"functions": ["sports_card"], "every": 1, "points": 2}  bonus points for every
                    ``every`` accepted uses a day of those functions (empty: any); the nightly job.

Order: free-use rules, then percentage and amount discounts (by priority), then points. The
charge records every rule that changed it, so a statement can say why a ride cost what it did.
Adding a rule is adding a row; no code changes."""

import datetime
import functools
from dataclasses import dataclass, field

from django.utils import timezone

RULE_KINDS = ("nth_use_free", "percent_off", "amount_off", "pay_with_points", "monthly_points", "earn_points")
_ORDER = {"nth_use_free": 0, "percent_off": 1, "amount_off": 1, "pay_with_points": 2}


@dataclass(frozen=True)
class Rule:
    code: str
    kind: str
    function: str
    card_kinds: tuple[str, ...] = ()
    params: dict = field(default_factory=dict, hash=False, compare=False)
    effective_from: datetime.date = datetime.date(1900, 1, 1)
    effective_until: datetime.date | None = None
    priority: int = 100

    def applies(self, *, card_kind: str, function: str, day: datetime.date) -> bool:
        return (
            self.function == function
            and (not self.card_kinds or card_kind in self.card_kinds)
            and self.effective_from <= day
            and (self.effective_until is None or day <= self.effective_until)
        )


@dataclass
class Use:
    """One card use to price. ``earlier_uses`` are the times of this card's accepted uses of the
    same function (any order); ``points`` and ``stored_value`` are what the card holds now."""

    card_kind: str
    function: str
    at: datetime.datetime
    fare: int
    earlier_uses: list[datetime.datetime] = field(default_factory=list)
    points: int = 0
    stored_value: int = 0


@dataclass
class Charge:
    fare: int
    due: int  # after discounts
    from_points: int = 0
    from_value: int = 0
    applied: list[dict] = field(default_factory=list)
    refusal: str = ""  # "insufficient_funds" when the stored value cannot pay the rest

    @property
    def accepted(self) -> bool:
        return not self.refusal


def validate_params(kind: str, params: dict) -> dict:
    """The parameters a rule of ``kind`` needs, checked; raises ValueError with the reason."""
    if kind not in RULE_KINDS:
        raise ValueError(f"unknown rule kind {kind!r}; one of {', '.join(RULE_KINDS)}")
    params = dict(params or {})
    if kind == "nth_use_free":
        every = params.get("every", 2)
        if not isinstance(every, int) or isinstance(every, bool) or every < 2:
            raise ValueError("every must be a whole number of 2 or more")
        start = params.get("day_starts_at", "00:00")
        try:
            datetime.time.fromisoformat(start)
        except (TypeError, ValueError) as exc:
            raise ValueError("day_starts_at must be a time like 04:00") from exc
        return {"every": every, "day_starts_at": start}
    if kind == "percent_off":
        percent = params.get("percent")
        if not isinstance(percent, int) or isinstance(percent, bool) or not 0 < percent <= 100:
            raise ValueError("percent must be a whole number from 1 to 100")
        return {"percent": percent}
    if kind == "amount_off":
        amount = params.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ValueError("amount must be a positive whole number of NT$")
        return {"amount": amount}
    if kind == "earn_points":
        functions = params.get("functions") or []
        every, points = params.get("every", 1), params.get("points")
        if not isinstance(functions, list) or not all(isinstance(f, str) for f in functions):
            raise ValueError("functions is a list of function codes (empty: every function)")
        for name, value in (("every", every), ("points", points)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number")
        return {"functions": functions, "every": every, "points": points}
    if kind == "monthly_points":
        points = params.get("points")
        by_district = params.get("district_points") or {}
        if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
            raise ValueError("points must be a positive whole number")
        if not isinstance(by_district, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in by_district.values()
        ):
            raise ValueError("district_points maps district codes to positive whole numbers")
        return {"points": points, "district_points": {str(k): v for k, v in by_district.items()}}
    cap = params.get("cap_per_use")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap <= 0):
        raise ValueError("cap_per_use must be a positive whole number of points, or null")
    return {"cap_per_use": cap}


@functools.lru_cache(maxsize=64)
def _time_of(text: str) -> datetime.time:
    return datetime.time.fromisoformat(text)


def service_day_start(local: datetime.datetime, day_starts_at: str) -> datetime.datetime:
    """The start of the service day containing ``local`` (a local time; a 04:00 start puts a
    00:30 ride on the previous day's ticket)."""
    start_time = _time_of(day_starts_at)
    start = local.replace(hour=start_time.hour, minute=start_time.minute, second=0, microsecond=0)
    if local < start:
        start -= datetime.timedelta(days=1)
    return start


def rules_in_force(rules: list[Rule], *, card_kind: str, function: str, day: datetime.date) -> list[Rule]:
    """The rules that apply to a use, in the order they apply."""
    return sorted(
        (r for r in rules if r.kind in _ORDER and r.applies(card_kind=card_kind, function=function, day=day)),
        key=lambda r: (_ORDER[r.kind], r.priority, r.code),
    )


def price(use: Use, rules: list[Rule], tz: datetime.tzinfo | None = None, *, in_force=None) -> Charge:
    """What a use costs and from where. ``tz``: the local time zone, when the caller prices many
    uses (looking it up costs more than the pricing). ``in_force``: a function (card kind,
    function, day) → ``rules_in_force(...)`` that a caller pricing thousands of uses may cache."""
    local = use.at.astimezone(tz) if tz is not None else timezone.localtime(use.at)
    day = local.date()
    if in_force is not None:
        active = in_force(use.card_kind, use.function, day)
    else:
        active = rules_in_force(rules, card_kind=use.card_kind, function=use.function, day=day)
    charge = Charge(fare=use.fare, due=use.fare)
    for rule in active:
        before = charge.due
        if rule.kind == "nth_use_free":
            at = use.at
            start = service_day_start(local, rule.params.get("day_starts_at", "00:00"))
            if at.tzinfo is not None and start.tzinfo is not at.tzinfo:
                # In the zone of the use (and of earlier uses read back from the database, UTC):
                # Python compares aware times in different zones through utcoffset() calls.
                start = start.astimezone(at.tzinfo)
            earlier = len([t for t in use.earlier_uses if start <= t < at])
            if (earlier + 1) % rule.params.get("every", 2) == 0:
                charge.due = 0
        elif rule.kind == "percent_off":
            charge.due = (charge.due * (100 - rule.params["percent"]) + 50) // 100
        elif rule.kind == "amount_off":
            charge.due = max(0, charge.due - rule.params["amount"])
        elif rule.kind == "pay_with_points":
            cap = rule.params.get("cap_per_use")
            take = min(charge.due, use.points, cap if cap is not None else charge.due)
            if take > 0:
                charge.from_points = take
                charge.applied.append({"rule": rule.code, "kind": rule.kind, "points": take})
            continue
        if charge.due != before:
            charge.applied.append(
                {"rule": rule.code, "kind": rule.kind, "before": before, "after": charge.due}
            )
    charge.from_value = charge.due - charge.from_points
    if charge.from_value > use.stored_value:
        charge.refusal = "insufficient_funds"
    return charge
