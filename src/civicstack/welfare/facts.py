"""The facts eligibility rules may speak of: the one registry of names, types, questions and choices.

The interview asks facts, not benefits: each fact is asked at most once, whatever number of
benefits depend on it. A fact's ``registry`` names where the people registry holds it (used only
with the citizen's consent); facts without one are always asked.
"""

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

INTEGER, BOOLEAN, CHOICE = "integer", "boolean", "choice"


@dataclass(frozen=True)
class Fact:
    name: str
    kind: str  # INTEGER, BOOLEAN or CHOICE
    label: str | Promise
    question: str | Promise
    choices: tuple[tuple[str, str | Promise], ...] = ()
    unit: str | Promise = ""
    minimum: int = 0
    maximum: int = 150
    registry: str = ""  # where the people registry holds it; empty when it must be asked
    # How an explanation states a known value: "%(value)s" is the value's display text.
    statement: str | Promise = ""
    statement_false: str | Promise = ""  # booleans: the statement when the value is False
    help_text: str | Promise = ""
    depends_on: tuple[str, ...] = field(default=())  # asked only after these are known
    # How common each answer is among the city's residents (rough public statistics, see
    # docs/welfare.md): (value, share) pairs, or for numbers (from, to exclusive, share) bands,
    # spread evenly over their years. Only the interview's choice of question uses them.
    shares: tuple = ()

    def share(self, low, high=None) -> float:
        """The prior share of an answer, or for numbers of the values low..high-1."""
        if self.kind == INTEGER:
            high = low + 1 if high is None else high
            total = 0.0
            for start, end, part in self.shares or ((self.minimum, self.maximum + 1, 1.0),):
                overlap = min(high, end) - max(low, start)
                if overlap > 0:
                    total += part * overlap / (end - start)
            return total
        if not self.shares:
            return 1 / len(self.values())
        return dict(self.shares).get(low, 0.0)

    def display(self, value) -> str:
        if self.kind == CHOICE:
            return str(dict(self.choices).get(value, value))
        if self.kind == BOOLEAN:
            return str(_("yes") if value else _("no"))
        return f"{value}"

    def state(self, value) -> str:
        """A clause for explanations: "you are 67 years old", "you live in 大溪區"."""
        if self.kind == BOOLEAN and not value and self.statement_false:
            return str(self.statement_false)
        return str(self.statement) % {"value": self.display(value)}

    def parse(self, raw):
        """The typed value of an answer (from a form or JSON); ValueError when it is not one."""
        if self.kind == INTEGER:
            if isinstance(raw, bool):
                raise ValueError("expected a whole number")
            if isinstance(raw, str):
                raw = raw.strip()
            try:
                number = int(raw)
            except (TypeError, ValueError) as exc:
                raise ValueError("expected a whole number") from exc
            if isinstance(raw, float) and raw != number:
                raise ValueError("expected a whole number")
            if not self.minimum <= number <= self.maximum:
                raise ValueError(f"must be between {self.minimum} and {self.maximum}")
            return number
        if self.kind == BOOLEAN:
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in {"true", "yes", "1", "on"}:
                return True
            if isinstance(raw, str) and raw.lower() in {"false", "no", "0", "off"}:
                return False
            raise ValueError("expected true or false")
        if not isinstance(raw, str) or raw not in self.values():
            raise ValueError(f"expected one of {', '.join(self.values())}")
        return raw

    def values(self) -> list:
        if self.kind == BOOLEAN:
            return [True, False]
        return [value for value, _label in self.choices]


def _district_choices() -> tuple:
    # Districts of the installed city profile, read lazily (the registry is built at import time).
    from civicstack.core.models import District

    return tuple((d.name_zh, d.name_zh) for d in District.objects.order_by("code"))


class _DistrictFact(Fact):
    """The district's choices come from the city profile in the database, cached per process."""

    _cache: dict = {}

    @property
    def choices(self):  # type: ignore[override]
        if "choices" not in self._cache:
            self._cache["choices"] = _district_choices()
        return self._cache["choices"]

    @choices.setter
    def choices(self, value):
        pass


def forget_district_choices() -> None:
    """After a city profile is (re)loaded: district choices are read again."""
    _DistrictFact._cache.clear()


FACTS: dict[str, Fact] = {
    fact.name: fact
    for fact in [
        Fact("age", INTEGER, _("Age"), _("How old are you?"), unit=_("years"), maximum=130, registry="birth_date",
             statement=_("you are %(value)s years old"),
             shares=((0, 18, 0.17), (18, 65, 0.70), (65, 101, 0.13))),
        Fact("sex", CHOICE, _("Sex"), _("What is your sex?"), choices=(("M", _("Male")), ("F", _("Female"))),
             registry="sex", statement=_("your sex is %(value)s"), shares=(("M", 0.5), ("F", 0.5))),
        _DistrictFact("district", CHOICE, _("District"), _("In which district is your household registered?"),
                      registry="district", statement=_("you live in %(value)s")),
        Fact("residence_years", INTEGER, _("Years registered in the city"),
             _("For how many years has your household been registered in the city?"), unit=_("years"),
             maximum=130, registry="registered_since",
             statement=_("you have been registered in the city for %(value)s years"),
             shares=((0, 1, 0.05), (1, 3, 0.07), (3, 101, 0.88))),
        Fact("income_class", CHOICE, _("Household income class"),
             _("Is your household certified as low-income or mid-low-income?"),
             choices=(("general", _("neither (general)")), ("mid_low", _("mid-low income")),
                      ("low", _("low income"))),
             registry="income_status", statement=_("your household's income class is %(value)s"),
             shares=(("general", 0.96), ("mid_low", 0.02), ("low", 0.02))),
        Fact("disability_level", CHOICE, _("Disability certificate"),
             _("Do you hold a disability certificate? Which level?"),
             choices=(("none", _("no certificate")), ("mild", _("mild")), ("moderate", _("moderate")),
                      ("severe", _("severe")), ("profound", _("profound"))),
             registry="disability_level", statement=_("your disability certificate level is %(value)s"),
             shares=(("none", 0.95), ("mild", 0.02), ("moderate", 0.015), ("severe", 0.01), ("profound", 0.005))),
        Fact("indigenous", BOOLEAN, _("Indigenous status"), _("Do you have indigenous status?"),
             registry="indigenous", statement=_("you have indigenous status"),
             statement_false=_("you do not have indigenous status"), shares=((True, 0.03), (False, 0.97))),
        Fact("children_under_18", INTEGER, _("Children under 18"),
             _("How many children under 18 live in your household?"), maximum=20, registry="household",
             statement=_("you have %(value)s children under 18"),
             shares=((0, 1, 0.70), (1, 2, 0.12), (2, 3, 0.13), (3, 21, 0.05))),
        Fact("youngest_child_age", INTEGER, _("Age of the youngest child"), _("How old is your youngest child?"),
             unit=_("years"), maximum=17, registry="household", statement=_("your youngest child is %(value)s"),
             help_text=_("In full years; 0 for a baby under one year."), depends_on=("children_under_18",)),
        Fact("recent_birth", BOOLEAN, _("Birth in the past year"),
             _("Was a child born to you in the past twelve months?"), registry="household",
             statement=_("a child was born to you in the past year"),
             statement_false=_("no child was born to you in the past year"), shares=((True, 0.05), (False, 0.95))),
        Fact("pregnant", BOOLEAN, _("Pregnancy"), _("Are you pregnant?"), statement=_("you are pregnant"),
             statement_false=_("you are not pregnant"), depends_on=("sex",), shares=((True, 0.03), (False, 0.97))),
        Fact("student_level", CHOICE, _("Studies"), _("Are you a student? At which level?"),
             choices=(("none", _("not a student")), ("elementary", _("elementary school")),
                      ("junior_high", _("junior high school")), ("senior_high", _("senior high or vocational school")),
                      ("college", _("college or university"))),
             registry="school_enrolment", statement=_("your studies: %(value)s"),
             shares=(("none", 0.80), ("elementary", 0.06), ("junior_high", 0.03), ("senior_high", 0.03),
                     ("college", 0.08))),
        Fact("employment", CHOICE, _("Employment"), _("What is your employment situation?"),
             choices=(("employed", _("employed or self-employed")), ("unemployed", _("unemployed, looking for work")),
                      ("not_working", _("not working (retired, at home, studying)"))),
             statement=_("you are %(value)s"),
             shares=(("employed", 0.60), ("unemployed", 0.03), ("not_working", 0.37))),
        Fact("housing", CHOICE, _("Housing"), _("Where do you live?"),
             choices=(("own", _("in a home my household owns")), ("rent", _("in a rented home")),
                      ("other", _("elsewhere (with relatives, institution)"))),
             statement=_("you live %(value)s"), shares=(("own", 0.75), ("rent", 0.18), ("other", 0.07))),
        Fact("veteran", BOOLEAN, _("Veteran"), _("Are you a veteran (榮民) or a veteran's surviving family member?"),
             statement=_("you are a veteran or a veteran's family"), statement_false=_("you are not a veteran"),
             shares=((True, 0.02), (False, 0.98))),
        Fact("farmer", BOOLEAN, _("Farmer"), _("Are you a farmer insured by the farmers' health insurance?"),
             statement=_("you are an insured farmer"), statement_false=_("you are not an insured farmer"),
             shares=((True, 0.03), (False, 0.97))),
        Fact("single_parent", BOOLEAN, _("Single parent"), _("Are you raising your children as a single parent?"),
             statement=_("you are a single parent"), statement_false=_("you are not a single parent"),
             shares=((True, 0.03), (False, 0.97))),
    ]
}  # fmt: skip
