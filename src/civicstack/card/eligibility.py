"""Who may hold which card, checked against the people registry and explained either way.

Each rule returns findings: what was checked, whether it held, and a sentence for the applicant
("You are 67, so you qualify for the senior card" / "You turn 65 on 2027-03-05; apply from then").
Every rule is a plain function of the registry's facts and a day, so tests can walk its
boundaries (the 65th birthday, the last day of a disability certificate)."""

import datetime
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from civicstack.core.models import Person, SchoolEnrolment

from .models import Card, CardPartner
from .models.kinds import PRIMARY_KINDS, CardKind

SENIOR_AGE = 65
COBRANDED_MIN_AGE = 18  # a credit card's primary holder must be of age (Civil Code art. 12, from 2023)
STUDENT_LEVELS = (
    SchoolEnrolment.Level.ELEMENTARY, SchoolEnrolment.Level.JUNIOR_HIGH, SchoolEnrolment.Level.SENIOR_HIGH,
    SchoolEnrolment.Level.COLLEGE,
)  # fmt: skip
MOBILE_NUMBER = re.compile(r"^09\d{8}$")


@dataclass(frozen=True)
class Finding:
    code: str
    ok: bool
    message: str


@dataclass
class Eligibility:
    kind: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return all(finding.ok for finding in self.findings)

    @property
    def refusals(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.ok]

    def add(self, code: str, ok: bool, message: str) -> bool:
        self.findings.append(Finding(code, ok, message))
        return ok

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "eligible": self.eligible,
            "findings": [{"code": f.code, "ok": f.ok, "message": f.message} for f in self.findings],
        }


def birthday_on(birth: datetime.date, age: int) -> datetime.date:
    """The day a person reaches ``age``. Someone born on 29 February reaches it on 1 March of a
    common year (Civil Code art. 121: with no corresponding day, the period ends on the month's last day)."""
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:
        return datetime.date(birth.year + age, 3, 1)


def age_on(birth: datetime.date, day: datetime.date) -> int:
    age = day.year - birth.year
    return age if birthday_on(birth, age) <= day else age - 1


def current_enrolments(person: Person, day: datetime.date, levels=STUDENT_LEVELS) -> list[SchoolEnrolment]:
    return [
        enrolment
        for enrolment in person.school_enrolments.all()
        if enrolment.level in levels and enrolment.is_current_on(day) and enrolment.in_city
    ]


def _alive(result: Eligibility, person: Person, day: datetime.date) -> bool:
    if person.deceased_on is not None and person.deceased_on <= day:
        return result.add("deceased", False, _("The registry records this person as deceased."))
    return True


def _resident(result: Eligibility, person: Person, day: datetime.date) -> bool:
    if person.is_resident_on(day):
        return result.add(
            "resident", True, _("You are registered in %(district)s.") % {"district": person.district.name_zh}
        )
    return result.add(
        "resident", False,
        _("The registry shows you moved out of the city on %(day)s; this card is for residents.")
        % {"day": person.moved_out_on},
    )  # fmt: skip


def _senior(result: Eligibility, person: Person, day: datetime.date) -> None:
    age = age_on(person.birth_date, day)
    if age >= SENIOR_AGE:
        result.add("age", True, _("You are %(age)s, so you qualify for the senior card.") % {"age": age})
    else:
        result.add(
            "age", False,
            _("You are %(age)s. The senior card is for residents aged 65 and over; you can apply from %(day)s.")
            % {"age": age, "day": birthday_on(person.birth_date, SENIOR_AGE)},
        )  # fmt: skip


def _disability(result: Eligibility, person: Person, day: datetime.date) -> bool:
    if not person.disability_level:
        return result.add(
            "disability_certificate", False, _("The registry has no disability certificate for you.")
        )
    if not person.disability_certificate_valid_on(day):
        return result.add(
            "disability_certificate", False,
            _("Your disability certificate expired on %(day)s. Renew it, then apply.")
            % {"day": person.disability_certificate_expires_on},
        )  # fmt: skip
    return result.add(
        "disability_certificate", True,
        _("You hold a valid disability certificate (%(level)s).") % {"level": person.get_disability_level_display()},
    )  # fmt: skip


def _student(result: Eligibility, person: Person, day: datetime.date) -> None:
    enrolments = current_enrolments(person, day)
    if enrolments:
        result.add(
            "school_enrolment", True,
            _("You are enrolled at %(school)s.") % {"school": enrolments[0].school_name},
        )  # fmt: skip
    else:
        result.add(
            "school_enrolment", False,
            _("The registry has no current enrolment for you at a school in the city."),
        )  # fmt: skip


def _companion(
    result: Eligibility, person: Person, holder: Person | None, day: datetime.date, *, detailed: bool
) -> None:
    """``detailed=False`` (a citizen applying online): one message for every way the named person
    does not qualify, so typing someone's ID number reveals nothing about them."""
    if not detailed:
        probe = Eligibility(result.kind)
        _companion(probe, person, holder, day, detailed=True)
        if probe.eligible:
            result.add(
                "companion_of",
                True,
                _("The person you accompany needs a companion and holds a disability card."),
            )
        elif holder is None or holder.pk == person.pk:
            result.findings.extend(probe.findings)
        else:
            result.add(
                "companion_of", False,
                _("The ID number you gave is not that of a disability-card holder who needs a companion "
                  "and has none yet. Check it, or apply at a district office with the holder."),
            )  # fmt: skip
        return
    if holder is None:
        result.add("companion_of", False, _("Name the disability-card holder you accompany."))
        return
    if holder.pk == person.pk:
        result.add("companion_of", False, _("You cannot be your own companion."))
        return
    if not holder.disability_certificate_valid_on(day):
        result.add("companion_of", False, _("The person you accompany has no valid disability certificate."))
        return
    if not holder.disability_needs_companion:
        result.add(
            "companion_of", False,
            _("The disability certificate of the person you accompany does not note that a companion is needed."),
        )  # fmt: skip
        return
    if not Card.objects.filter(person=holder, kind=CardKind.DISABILITY, state=Card.State.ACTIVE).exists():
        result.add("companion_of", False, _("The person you accompany has no active disability card."))
        return
    taken = Card.objects.filter(companion_for=holder, kind=CardKind.COMPANION, state=Card.State.ACTIVE)
    if taken.exclude(person=person).exists():
        result.add("companion_of", False, _("The person you accompany already has a companion card holder."))
        return
    result.add(
        "companion_of", True, _("You are the registered companion of %(name)s.") % {"name": holder.name}
    )


def _partner(result: Eligibility, partner: CardPartner | None, kind: str) -> bool:
    wanted = CardPartner.Kind.TELECOM if kind == CardKind.MOBILE else CardPartner.Kind.BANK
    if partner is None or partner.kind != wanted or not partner.is_active:
        message = (
            _("Choose one of the partner telecoms.")
            if kind == CardKind.MOBILE
            else _("Choose one of the partner banks.")
        )
        return result.add("partner", False, message)
    return result.add("partner", True, _("Issued with %(partner)s.") % {"partner": partner.name})


def _holdings(result: Eligibility, person: Person, kind: str, replacing: Card | None) -> None:
    active = Card.objects.filter(person=person, state=Card.State.ACTIVE)
    if replacing is not None:
        active = active.exclude(pk=replacing.pk)
    same = active.filter(kind=kind).first()
    if same is not None:
        result.add(
            "one_per_kind", False,
            _("You already hold an active %(kind)s (%(number)s).")
            % {"kind": same.get_kind_display(), "number": same.formatted_number},
        )  # fmt: skip
        return
    if kind in PRIMARY_KINDS:
        other = active.filter(kind__in=PRIMARY_KINDS).first()
        if other is not None:
            result.add(
                "one_citizen_card", False,
                _("You hold a %(kind)s already; ask to change its type instead of a second card.")
                % {"kind": other.get_kind_display()},
            )  # fmt: skip


def check(
    person: Person, kind: str, *, day: datetime.date, companion_for: Person | None = None,
    partner: CardPartner | None = None, mobile_number: str = "", replacing: Card | None = None,
    detailed: bool = True,
) -> Eligibility:  # fmt: skip
    """Every rule for ``kind`` on ``day``; ``replacing`` is the card a type change or replacement retires.
    ``detailed=False`` for citizens: findings about another person (the one a companion accompanies)
    are not disclosed."""
    result = Eligibility(kind)
    if kind not in CardKind.values:
        result.add("kind", False, _("Unknown card type."))
        return result
    if not _alive(result, person, day):
        return result
    if kind == CardKind.GENERAL:
        _resident(result, person, day)
    elif kind == CardKind.STUDENT:
        _student(result, person, day)
    elif kind == CardKind.SENIOR:
        if _resident(result, person, day):
            _senior(result, person, day)
    elif kind == CardKind.DISABILITY:
        if _resident(result, person, day):
            _disability(result, person, day)
    elif kind == CardKind.COMPANION:
        _companion(result, person, companion_for, day, detailed=detailed)
    elif kind == CardKind.MOBILE:
        _partner(result, partner, kind)
        if not MOBILE_NUMBER.match(mobile_number or ""):
            result.add("mobile_number", False, _("Give the mobile number (09xxxxxxxx) of the SIM."))
        if person.is_resident_on(day):
            result.add(
                "resident",
                True,
                _("You are registered in %(district)s.") % {"district": person.district.name_zh},
            )
        elif current_enrolments(person, day, (SchoolEnrolment.Level.COLLEGE,)):
            result.add("college_student", True, _("You study at a college in the city."))
        else:
            result.add(
                "resident", False,
                _("The mobile citizen card is for residents and for students of colleges in the city."),
            )  # fmt: skip
    elif kind == CardKind.COBRANDED:
        _partner(result, partner, kind)
        if _resident(result, person, day):
            age = age_on(person.birth_date, day)
            result.add(
                "age", age >= COBRANDED_MIN_AGE,
                _("You are %(age)s; a credit card's holder must be %(min)s or over.")
                % {"age": age, "min": COBRANDED_MIN_AGE},
            )  # fmt: skip
    _holdings(result, person, kind, replacing)
    return result


def valid_until(
    kind: str, person: Person, issued: datetime.date, companion_for: Person | None = None
) -> datetime.date:
    """How long a new card is valid: printed cards ten years; a student card until the enrolment
    ends (at most six years); a disability card no longer than the certificate; phone and credit
    cards five years, the SIM's and the bank's usual terms. A companion card ends with the
    certificate of the person accompanied."""
    ten_years = birthday_on(issued, 10)
    if kind == CardKind.STUDENT:
        ends = [e.ends_on for e in current_enrolments(person, issued) if e.ends_on]
        limit = birthday_on(issued, 6)
        return min([*ends, limit])
    if kind in (CardKind.DISABILITY, CardKind.COMPANION):
        certificate_holder = companion_for if kind == CardKind.COMPANION else person
        expiry = certificate_holder.disability_certificate_expires_on if certificate_holder else None
        return min(ten_years, expiry) if expiry else ten_years
    if kind in (CardKind.MOBILE, CardKind.COBRANDED):
        return birthday_on(issued, 5)
    return ten_years
