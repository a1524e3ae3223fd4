"""Demo data of the card module: cards of every type held by the generated residents, their history
(lost, replaced, expired), school enrolments of the student-card holders, function enrolments,
experience events with their sign-ups and visit counts, and a review queue for the demo clerk.

``seed``: the city as the report saw it on 2019-01-31. 1,306,546 active cards in the report's mix
(general 641,185, student 359,688, senior 194,760, disability 53,305, companion 30,855, mobile
7,389, co-branded 19,364), issued from January 2015, and the 17 experience events of S02
(October 2018 to January 2019: 1,987 cards issued on site, 7,886 participants, 24,097 visits).
Every holder meets the rules on the day the card was issued and on the report's day: senior
holders were 65 when it was issued, students were enrolled (their enrolment is created here, one a
person), companions accompany a disability-card holder whose certificate notes a companion. The
cards carry validity dates computed as the issuing service computes them, so the snapshot is
consistent on 2019-01-31; run ``card sweep`` on it today and the cards past their date expire,
as they would have. ``fraction`` scales the mix down (the tests use 1/1000 of it).

``small``: the same generator on the small population, dated up to today (about 600 cards, every
kind), with approved applications for the last year's cards, three recent events, and, made through
the services: applications waiting in the demo clerk's queue (with a photo), a lost card awaiting
its replacement fee, a type change, and the demo citizen's general card with a library account
and an e-invoice carrier.

Only here, and only for speed, rows are written in bulk (COPY on PostgreSQL, bulk_create
elsewhere), with no per-card audit events: one summary event records the load. The people's
school enrolments and the "needs a companion" note of the chosen disability certificates are
written to core's tables in the same bulk way; nothing else writes another module's tables.
"""

import datetime
import io
import random
import zoneinfo
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from faker.providers.person.zh_TW import Provider as ZhTwNames
from PIL import Image, ImageDraw

from civicstack.core import services as core_services
from civicstack.core.models import Agency, District, Person, SchoolEnrolment, User
from civicstack.core.services import audit_record

from . import card_number, services
from .eligibility import birthday_on
from .models import (
    Card,
    CardApplication,
    CardFunction,
    CardPartner,
    EventSignUp,
    EventVisitTally,
    ExperienceEvent,
    FunctionEnrolment,
)  # fmt: skip
from .models.kinds import CardKind, Channel

REPORT_DAY = datetime.date(2019, 1, 31)
SEED_FIRST_DAY = datetime.date(2015, 1, 1)
REPORT_MIX = {
    CardKind.GENERAL: 641_185, CardKind.STUDENT: 359_688, CardKind.SENIOR: 194_760, CardKind.DISABILITY: 53_305,
    CardKind.COMPANION: 30_855, CardKind.MOBILE: 7_389, CardKind.COBRANDED: 19_364,
}  # fmt: skip
REPORT_TOTAL = sum(REPORT_MIX.values())  # 1,306,546
REPORT_EVENTS = {"events": 17, "cards": 1_987, "participants": 7_886, "visits": 24_097}
SMALL_CARDS = 600
EVENT_ORGANISER = "TYC-L1-26"  # the Department of Information Technology
DEMO_BANKS = [  # co-branded card issuers: invented, and named so nobody takes them for real banks
    ("demo-commercial-bank", "示範商業銀行", 0.5),
    ("demo-union-bank", "示範聯合銀行", 0.3),
    ("demo-trust-bank", "示範信託銀行", 0.2),
]
TELECOM_SHARES = {"cht": 0.38, "twm": 0.27, "fet": 0.25, "aptg": 0.10}
MOBILE_LAUNCH = datetime.date(2016, 7, 1)  # the NFC-SIM card came later than the printed ones
BATCH = 20_000
INDEX_REBUILD_ROWS = 100_000  # a load this large builds its indexes once, after the rows

KINDS = list(CardKind.values)  # code = position
K_GENERAL, K_STUDENT, K_SENIOR, K_DISABILITY, K_COMPANION, K_MOBILE, K_COBRANDED = range(7)
STATES = ["active", "lost", "replaced", "expired", "cancelled"]
S_ACTIVE, S_LOST, S_REPLACED, S_EXPIRED, S_CANCELLED = range(5)
CHANNELS = list(Channel.values)
C_ONLINE, C_COUNTER, C_EVENT, C_TELECOM, C_BANK = (CHANNELS.index(c) for c in ("online", "counter", "event",
                                                                             "telecom", "bank"))  # fmt: skip
DISABILITY_RANK = {"": 0, "mild": 1, "moderate": 2, "severe": 3, "profound": 4}

# Schools outside the city profile's thirteen, by district (the profile has one school a district).
JUNIOR_HIGH = "桃園市立{short}國民中學"
SENIOR_HIGH = {
    "桃園區": "國立桃園高級中學", "中壢區": "國立中壢高級中學", "平鎮區": "桃園市立平鎮高級中等學校",
    "八德區": "桃園市立永豐高級中等學校", "楊梅區": "國立楊梅高級中學", "蘆竹區": "桃園市立南崁高級中等學校",
    "大溪區": "國立大溪高級中學", "龍潭區": "國立龍潭高級農工職業學校", "龜山區": "桃園市立壽山高級中等學校",
    "大園區": "桃園市立大園國際高級中等學校", "觀音區": "桃園市立觀音高級中等學校", "新屋區": "國立中壢高級家事商業職業學校",
    "復興區": "國立中壢高級中學",
}  # fmt: skip
ELEMENTARY_NAMES = ["中正", "中山", "信義", "仁愛", "光明", "文化", "自強", "復興", "大同", "忠孝", "建國", "新興", "東門",
                    "西門", "南門", "北門", "同德", "青溪", "快樂", "大勇"]  # fmt: skip
CITY_SCHOOL_SHARE = 0.15  # of a district's elementary pupils at the profile's (one) school of the district
COLLEGES = ["國立中央大學", "中原大學", "元智大學", "長庚大學", "銘傳大學桃園校區", "開南大學", "健行科技大學",
            "萬能科技大學", "龍華科技大學", "國立體育大學", "長庚科技大學"]  # fmt: skip

# The 17 experience events of S02: Saturdays from October 2018 to January 2019, one or two days.
SEED_EVENTS = [
    ("68000010", "桃園市政府前廣場", "桃園市桃園區縣府路1號", datetime.date(2018, 10, 6), 2),
    ("68000020", "中壢火車站前廣場", "桃園市中壢區中和路139號", datetime.date(2018, 10, 13), 2),
    ("68000100", "平鎮國民運動中心", "桃園市平鎮區文化街198號", datetime.date(2018, 10, 20), 1),
    ("68000080", "八德國民運動中心", "桃園市八德區陸光街1號", datetime.date(2018, 10, 27), 1),
    ("68000040", "楊梅區公所前廣場", "桃園市楊梅區大成路100號", datetime.date(2018, 11, 3), 1),
    ("68000050", "蘆竹國民運動中心", "桃園市蘆竹區南崁路一段1號", datetime.date(2018, 11, 10), 1),
    ("68000030", "大溪老街和平路口", "桃園市大溪區和平路", datetime.date(2018, 11, 17), 2),
    ("68000090", "龍潭大池旁廣場", "桃園市龍潭區中正路", datetime.date(2018, 11, 24), 1),
    ("68000070", "龜山國民運動中心", "桃園市龜山區萬壽路二段", datetime.date(2018, 12, 1), 1),
    ("68000060", "大園區公所前廣場", "桃園市大園區中正東路160號", datetime.date(2018, 12, 8), 1),
    ("68000120", "觀音區公所前廣場", "桃園市觀音區中山路二段", datetime.date(2018, 12, 15), 1),
    ("68000110", "新屋區公所前廣場", "桃園市新屋區中山路", datetime.date(2018, 12, 22), 1),
    ("68000130", "角板山行館前廣場", "桃園市復興區中正路", datetime.date(2018, 12, 29), 1),
    ("68000010", "桃園展演中心", "桃園市桃園區中正路1188號", datetime.date(2019, 1, 5), 2),
    ("68000020", "中壢國民運動中心", "桃園市中壢區中央西路三段", datetime.date(2019, 1, 12), 2),
    ("68000100", "平鎮區公所前廣場", "桃園市平鎮區環南路", datetime.date(2019, 1, 19), 1),
    ("68000080", "八德區公所前廣場", "桃園市八德區東勇街", datetime.date(2019, 1, 26), 1),
]  # fmt: skip


@dataclass(frozen=True)
class Spec:
    """What to generate: the active cards by kind, the period, the events and the shares of history."""

    mix: dict[str, int]
    first_day: datetime.date
    as_of: datetime.date
    events: list[tuple]  # (district code, venue, address, first day, days)
    event_totals: dict[str, int]
    replaced_share: float = 0.025  # active printed cards that replaced an earlier (lost or old-type) card
    expired_student_share: float = 0.35  # students (and young adults) whose previous student card expired
    lost_share: float = 0.002  # residents without a card whose card is reported lost, not yet replaced
    cancelled_share: float = 0.001
    library_share: float = 0.06
    einvoice_share: float = 0.03
    health_share: float = 0.02
    applications_since: datetime.date | None = None  # approved applications for cards issued since
    reserved_general: tuple[int, ...] = ()  # person ids that get a general card (the demo citizen)


def split(total: int, weights: list[float]) -> list[int]:
    """``total`` in parts proportional to ``weights``, summing exactly (largest remainder)."""
    scale = total / sum(weights)
    exact = [weight * scale for weight in weights]
    parts = [int(value) for value in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def mix_for(fraction: float) -> dict[str, int]:
    """The report's mix scaled by ``fraction``, every kind at least one card."""
    if fraction >= 1:
        return dict(REPORT_MIX)
    total = max(len(REPORT_MIX), round(REPORT_TOTAL * fraction))
    parts = split(total, [float(n) for n in REPORT_MIX.values()])
    return {kind: max(1, n) for kind, n in zip(REPORT_MIX, parts, strict=True)}


def seed_spec(fraction: float = 1.0) -> Spec:
    totals = dict(REPORT_EVENTS)
    if fraction < 1:  # the on-site cards are part of the mix, so they scale with it; the rest stays exact
        totals["cards"] = max(1, round(REPORT_EVENTS["cards"] * fraction))
    return Spec(mix=mix_for(fraction), first_day=SEED_FIRST_DAY, as_of=REPORT_DAY, events=SEED_EVENTS,
                event_totals=totals)  # fmt: skip


def small_spec(today: datetime.date, reserved: tuple[int, ...] = ()) -> Spec:
    saturday = today - datetime.timedelta(days=(today.weekday() - 5) % 7 or 7)
    events = [
        ("68000010", "桃園市政府前廣場", "桃園市桃園區縣府路1號", saturday - datetime.timedelta(weeks=11), 2),
        ("68000020", "中壢國民運動中心", "桃園市中壢區中央西路三段", saturday - datetime.timedelta(weeks=6), 1),
        ("68000080", "八德國民運動中心", "桃園市八德區陸光街1號", saturday - datetime.timedelta(weeks=2), 1),
    ]  # fmt: skip
    return Spec(
        mix=mix_for(SMALL_CARDS / REPORT_TOTAL), first_day=_years_before(today, 4), as_of=today, events=events,
        event_totals={"events": 3, "cards": 6, "participants": 46, "visits": 158}, lost_share=0.0,
        cancelled_share=0.0, library_share=0.12, einvoice_share=0.05, health_share=0.04,
        applications_since=today - datetime.timedelta(days=365), reserved_general=reserved,
    )  # fmt: skip


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- people -----------------------------------------------------------------------------------


class People:
    """The registry's residents as compact columns (2.2 million rows stay well under 100 MB)."""

    def __init__(self):
        self.ids = array("q")
        self.birth = array("l")  # date ordinals
        self.district = array("l")
        self.household = array("q")
        self.disability = array("b")  # DISABILITY_RANK; 0: no certificate
        self.certificate_expiry = array("l")  # ordinal; 0: no expiry date
        self.has_phone = array("b")
        self.resident = array("b")  # alive and registered in the city (no death or move recorded)
        self.has_school = array("b")  # has a school enrolment already

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, chunk: int = 100_000) -> "People":
        people = cls()
        table = Person._meta.db_table
        enrolled = set(SchoolEnrolment.objects.values_list("person_id", flat=True))
        last = 0
        sql = (  # the table name is ours, the values are parameters
            f"SELECT id, birth_date, district_id, household_id, disability_level, disability_certificate_expires_on,"  # noqa: S608
            f" phone, deceased_on IS NULL AND moved_out_on IS NULL FROM {table} WHERE id > %s ORDER BY id LIMIT %s"
        )  # fmt: skip
        with connection.cursor() as cursor:
            while True:
                cursor.execute(sql, [last, chunk])
                rows = cursor.fetchall()
                if not rows:
                    break
                ids, births, districts, households, levels, expiries, phones, residents = zip(
                    *rows, strict=True
                )
                people.ids.extend(ids)
                people.birth.extend(map(_ordinal, births))
                people.district.extend(districts)
                people.household.extend(h or 0 for h in households)
                people.disability.extend(DISABILITY_RANK.get(level or "", 0) for level in levels)
                people.certificate_expiry.extend(_ordinal(e) if e else 0 for e in expiries)
                people.has_phone.extend(1 if phone else 0 for phone in phones)
                people.resident.extend(1 if resident else 0 for resident in residents)
                people.has_school.extend(1 if pk in enrolled else 0 for pk in ids)
                last = rows[-1][0]
        return people


def _ordinal(value) -> int:
    if isinstance(value, str):  # SQLite's raw cursor answers dates as text
        value = datetime.date.fromisoformat(value)
    return value.toordinal()


# --- dates ------------------------------------------------------------------------------------


class DaySampler:
    """Issue days with month-level variation: uptake grows over the period, dips at Lunar New Year,
    peaks when school starts (student cards most), and counters are closed at weekends."""

    SEASON = {
        1: 0.85,
        2: 0.8,
        3: 1.0,
        4: 0.95,
        5: 1.0,
        6: 0.95,
        7: 1.1,
        8: 1.15,
        9: 1.3,
        10: 1.15,
        11: 1.0,
        12: 0.9,
    }
    SCHOOL = {2: 1.6, 8: 1.5, 9: 3.0, 10: 1.8}

    def __init__(
        self, rng: random.Random, first: datetime.date, last: datetime.date, noise: dict, school=False
    ):
        self.rng = rng
        self.first, self.last = first.toordinal(), last.toordinal()
        span = max(1, self.last - self.first)
        cumulative, total = [0.0], 0.0
        for ordinal in range(self.first, self.last + 1):
            day = datetime.date.fromordinal(ordinal)
            weight = (0.6 + 1.4 * (ordinal - self.first) / span) * self.SEASON[day.month]
            weight *= noise[(day.year, day.month)] * (0.25 if day.weekday() >= 5 else 1.0)
            if school:
                weight *= self.SCHOOL.get(day.month, 1.0)
            total += weight
            cumulative.append(total)
        self.cumulative = cumulative

    def draw(self, low: int, high: int) -> int:
        """An issue day (ordinal) in [low, high] within the period; -1 when there is none."""
        low, high = max(low, self.first), min(high, self.last)
        if low > high:
            return -1
        a, b = self.cumulative[low - self.first], self.cumulative[high - self.first + 1]
        index = bisect_right(self.cumulative, a + self.rng.random() * (b - a)) - 1
        return min(max(self.first + index, low), high)


def _month_noise(rng: random.Random, first: datetime.date, last: datetime.date) -> dict:
    noise, year, month = {}, first.year, first.month
    while (year, month) <= (last.year, last.month):
        noise[(year, month)] = rng.uniform(0.8, 1.2)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return noise


def _school_stage(birth: datetime.date, day: datetime.date):
    """(level, first day, last day) of the school stage a person born on ``birth`` is in on
    ``day``, as the Taiwanese school year counts (entry the September after turning six)."""
    school_year = day.year if day.month >= 9 else day.year - 1
    entry = birth.year + (6 if birth <= datetime.date(birth.year, 9, 1) else 7)
    grade = school_year - entry
    stages = [(0, 6, SchoolEnrolment.Level.ELEMENTARY), (6, 3, SchoolEnrolment.Level.JUNIOR_HIGH),
              (9, 3, SchoolEnrolment.Level.SENIOR_HIGH), (12, 4, SchoolEnrolment.Level.COLLEGE),
              (16, 2, SchoolEnrolment.Level.COLLEGE), (18, 4, SchoolEnrolment.Level.COLLEGE)]  # fmt: skip
    for start, years, level in stages:
        if start <= grade < start + years:
            return (
                level,
                datetime.date(entry + start, 9, 1),
                datetime.date(entry + start + years, 7, 31),
                start,
            )
    return None


# --- the plan ---------------------------------------------------------------------------------


@dataclass
class Plan:
    """Every card to write, as columns: active cards and their history."""

    person: array = field(default_factory=lambda: array("l"))  # index into People
    kind: array = field(default_factory=lambda: array("b"))
    state: array = field(default_factory=lambda: array("b"))
    channel: array = field(default_factory=lambda: array("b"))
    low: array = field(default_factory=lambda: array("l"))  # earliest issue day (ordinal)
    when: array = field(default_factory=lambda: array("q"))  # issued: ordinal * 86400 + seconds
    expires: array = field(default_factory=lambda: array("l"))
    blocked: array = field(default_factory=lambda: array("q"))  # 0: never blocked
    companion_for: array = field(default_factory=lambda: array("q"))  # person id
    partner: array = field(default_factory=lambda: array("l"))
    event: array = field(default_factory=lambda: array("l"))  # index + 1 into the events
    replaces: array = field(default_factory=lambda: array("l"))  # plan index, -1

    def add(self, person: int, kind: int, *, low: int, state: int = S_ACTIVE, channel: int = C_COUNTER,
            companion_for: int = 0, partner: int = 0) -> int:  # fmt: skip
        self.person.append(person)
        self.kind.append(kind)
        self.state.append(state)
        self.channel.append(channel)
        self.low.append(low)
        self.when.append(0)
        self.expires.append(0)
        self.blocked.append(0)
        self.companion_for.append(companion_for)
        self.partner.append(partner)
        self.event.append(0)
        self.replaces.append(-1)
        return len(self.person) - 1

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class Context:
    rng: random.Random
    spec: Spec
    people: People
    plan: Plan = field(default_factory=Plan)
    students: dict = field(
        default_factory=dict
    )  # person index -> (level, start, end, school id, name, number)
    needs_companion: list = field(default_factory=list)  # person ids
    districts: dict = field(default_factory=dict)  # id -> District
    school_agencies: dict = field(default_factory=dict)  # (district id, level) -> Agency
    school_by_id: dict = field(default_factory=dict)  # id -> Agency


def _pick(rng: random.Random, candidates: list[int], count: int, what: str) -> list[int]:
    if len(candidates) < count:
        raise RuntimeError(
            f"card demo: {count:,} {what} needed but only {len(candidates):,} residents qualify; generate more people"
        )
    return candidates[:count]


def plan_cards(ctx: Context) -> None:
    """Choose the holders, kind by kind, so every one meets the rules, and the earliest issue day."""
    rng, spec, people, plan = ctx.rng, ctx.spec, ctx.people, ctx.plan
    as_of, first = spec.as_of, spec.first_day
    as_of_n, first_n = as_of.toordinal(), first.toordinal()
    cutoff_65 = _years_before(as_of, 65).toordinal()
    order = list(range(len(people)))
    rng.shuffle(order)
    born = [i for i in order if people.resident[i] and people.birth[i] <= as_of_n - 30]
    taken = bytearray(len(people))  # holds a primary card
    reserved = {people.ids.index(pk) for pk in spec.reserved_general if pk in people.ids}

    stages: dict[int, tuple | None] = {}  # by birthday: many share one

    def stage(i):
        birth = people.birth[i]
        if birth not in stages:
            stages[birth] = _school_stage(datetime.date.fromordinal(birth), as_of)
        return stages[birth]

    # Disability cards: certificate valid on the report's day; students' ages last, they are few.
    disabled = [i for i in born if people.disability[i] and i not in reserved
                and (not people.certificate_expiry[i] or people.certificate_expiry[i] >= as_of_n)]  # fmt: skip
    disabled.sort(key=lambda i: stage(i) is not None)
    disability_holders = _pick(rng, disabled, spec.mix[CardKind.DISABILITY], "disability-card holders")
    for i in disability_holders:
        taken[i] = 1
        plan.add(i, K_DISABILITY, low=first_n)
    # Seniors: 65 or over on the issue day, so on the report's day.
    seniors = [i for i in born if not taken[i] and i not in reserved and people.birth[i] <= cutoff_65]
    for i in _pick(rng, seniors, spec.mix[CardKind.SENIOR], "senior-card holders"):
        taken[i] = 1
        plan.add(i, K_SENIOR, low=birthday_on(datetime.date.fromordinal(people.birth[i]), 65).toordinal())
    # Students: enrolled on the report's day; school ages first, then college and graduate students.
    tiers: dict[int, list[int]] = {}
    school_age_from = _years_before(as_of, 32).toordinal()
    for i in born:
        if taken[i] or i in reserved or people.has_school[i] or people.birth[i] < school_age_from:
            continue
        current = stage(i)
        if current is not None:
            tiers.setdefault(current[3], []).append(i)
    students = [i for start in sorted(tiers) for i in tiers[start]]
    for i in _pick(rng, students, spec.mix[CardKind.STUDENT], "student-card holders"):
        taken[i] = 1
        level, start, end, _grade = stage(i)
        district = people.district[i]
        school = ctx.school_agencies.get((district, level))
        if (
            school is not None
            and level == SchoolEnrolment.Level.ELEMENTARY
            and rng.random() >= CITY_SCHOOL_SHARE
        ):
            school = None  # one of the district's other elementary schools
        short = ctx.districts[district].name_zh.removesuffix("區")
        if school is not None:
            name = school.name_zh
        elif level == SchoolEnrolment.Level.JUNIOR_HIGH:
            name = JUNIOR_HIGH.format(short=short)
        elif level == SchoolEnrolment.Level.SENIOR_HIGH:
            name = SENIOR_HIGH.get(ctx.districts[district].name_zh, "國立桃園高級中學")
        elif level == SchoolEnrolment.Level.COLLEGE:
            name = rng.choice(COLLEGES)
        else:
            name = f"桃園市{short}區{rng.choice(ELEMENTARY_NAMES)}國民小學"
        number = f"{start.year % 100:02d}{rng.randrange(10**5):05d}"
        ctx.students[i] = (level, start, end, school.pk if school else None, name, number)
        plan.add(i, K_STUDENT, low=max(first_n, start.toordinal()))
    # General cards: anyone else, the reserved first.
    general = [i for i in reserved] + [i for i in born if not taken[i] and i not in reserved]
    for i in _pick(rng, general, spec.mix[CardKind.GENERAL], "general-card holders"):
        taken[i] = 1
        plan.add(i, K_GENERAL, low=max(first_n, people.birth[i] + 30))
    _plan_companions(ctx, disability_holders)
    # Mobile cards: residents of 15 or over with a phone; co-branded: 18 or over.
    telecoms = dict(CardPartner.objects.filter(code__in=TELECOM_SHARES).values_list("code", "pk"))
    banks = dict(CardPartner.objects.filter(code__in=[b[0] for b in DEMO_BANKS]).values_list("code", "pk"))
    mobile_from = max(first_n, MOBILE_LAUNCH.toordinal()) if first < MOBILE_LAUNCH < as_of else first_n
    cutoff_15 = _years_before(as_of, 15).toordinal()
    adults_15 = [i for i in born if people.has_phone[i] and people.birth[i] <= cutoff_15]
    telecom_codes, telecom_weights = list(TELECOM_SHARES), list(TELECOM_SHARES.values())
    for i in _pick(rng, adults_15, spec.mix[CardKind.MOBILE], "mobile-card holders"):
        fifteen = birthday_on(datetime.date.fromordinal(people.birth[i]), 15).toordinal()
        code = rng.choices(telecom_codes, telecom_weights)[0]
        plan.add(i, K_MOBILE, low=max(mobile_from, fifteen), channel=C_TELECOM, partner=telecoms[code])
    cutoff_18 = _years_before(as_of, 18).toordinal()
    adults_18 = [i for i in born if people.birth[i] <= cutoff_18]
    bank_codes, bank_weights = [b[0] for b in DEMO_BANKS], [b[2] for b in DEMO_BANKS]
    count = spec.mix[CardKind.COBRANDED]
    for i in _pick(rng, rng.sample(adults_18, min(count, len(adults_18))), count, "co-branded card holders"):
        eighteen = birthday_on(datetime.date.fromordinal(people.birth[i]), 18).toordinal()
        code = rng.choices(bank_codes, bank_weights)[0]
        plan.add(i, K_COBRANDED, low=max(first_n, eighteen), channel=C_BANK, partner=banks[code])
    # Residents without a card whose card was lost (not yet replaced) or closed at their request.
    for i in born:
        if taken[i] or i in reserved:
            continue
        roll = rng.random()
        if roll < spec.lost_share:
            plan.add(i, K_GENERAL, low=max(first_n, people.birth[i] + 30), state=S_LOST)
        elif roll < spec.lost_share + spec.cancelled_share:
            plan.add(i, K_GENERAL, low=max(first_n, people.birth[i] + 30), state=S_CANCELLED)


def _plan_companions(ctx: Context, disability_holders: list[int]) -> None:
    """Certificates that note a companion (the more severe first), and one companion card each for
    some of them, held by an adult of the same household where there is one."""
    rng, spec, people, plan = ctx.rng, ctx.spec, ctx.people, ctx.plan
    count = spec.mix[CardKind.COMPANION]
    ranked = sorted(disability_holders, key=lambda i: (-people.disability[i], rng.random()))
    noted = ranked[: min(len(ranked), max(count, round(count * 1.15)))]
    ctx.needs_companion = [people.ids[i] for i in noted]
    accompanied = _pick(rng, rng.sample(noted, len(noted)), count, "companion-card holders")
    adult_cutoff = _years_before(spec.as_of, 18).toordinal()
    used = set()
    for holder in accompanied:
        companion = None
        for j in (holder - 1, holder + 1, holder - 2, holder + 2, holder - 3, holder + 3):
            if (0 <= j < len(people) and people.household[j] == people.household[holder] and j not in used
                    and people.resident[j] and people.birth[j] <= adult_cutoff):  # fmt: skip
                companion = j
                break
        while companion is None:  # no adult at home: someone else (a carer, a relative elsewhere)
            j = rng.randrange(len(people))
            if j not in used and j != holder and people.resident[j] and people.birth[j] <= adult_cutoff:
                companion = j
        used.add(companion)
        low = max(spec.first_day.toordinal(), birthday_on(datetime.date.fromordinal(people.birth[companion]), 18)
                  .toordinal())  # fmt: skip
        # The companion card follows the disability card: the index is resolved once its day is drawn.
        plan.add(companion, K_COMPANION, low=low, companion_for=people.ids[holder])


def plan_events(rng: random.Random, spec: Spec) -> list[dict]:
    """Each event's share of the totals (exact sums), from a weight per event and day."""
    weights = [days * rng.uniform(0.7, 1.3) for *_rest, days in spec.events]
    totals = spec.event_totals
    cards = split(totals["cards"], [w * rng.uniform(0.9, 1.1) for w in weights])
    participants = split(totals["participants"], [w * rng.uniform(0.95, 1.05) for w in weights])
    visits = split(totals["visits"], [w * rng.uniform(0.95, 1.05) for w in weights])
    plans = []
    for (district, venue, address, starts_on, days), c, p, v in zip(spec.events, cards, participants, visits,
                                                                     strict=True):  # fmt: skip
        plans.append({
            "district": district, "venue": venue, "address": address, "starts_on": starts_on,
            "ends_on": starts_on + datetime.timedelta(days=days - 1), "cards": c, "participants": p,
            "no_shows": round(p * rng.uniform(0.08, 0.2)), "visits": max(v, p),
        })  # fmt: skip
    return plans


def draw_days(ctx: Context, events: list[dict], district_ids: dict[str, int]) -> None:
    """Issue days and times, the on-site cards of the events, validity, and the cards' history."""
    rng, spec, people, plan = ctx.rng, ctx.spec, ctx.people, ctx.plan
    noise = _month_noise(rng, spec.first_day, spec.as_of)
    days = DaySampler(rng, spec.first_day, spec.as_of, noise)
    school_days = DaySampler(rng, spec.first_day, spec.as_of, noise, school=True)
    as_of_n = spec.as_of.toordinal()
    # The events' on-site cards: primary cards of the event's district that could be issued that day.
    by_district: dict[int, list[int]] = {}
    for index in range(len(plan)):
        if plan.kind[index] <= K_DISABILITY and plan.state[index] == S_ACTIVE:
            by_district.setdefault(people.district[plan.person[index]], []).append(index)
    for candidates in by_district.values():
        rng.shuffle(candidates)
    for number, event in enumerate(events, start=1):
        candidates = by_district.get(district_ids[event["district"]], [])
        made, position = 0, 0
        span = (event["ends_on"] - event["starts_on"]).days
        while made < event["cards"]:
            if position >= len(candidates):
                raise RuntimeError(f"card demo: not enough card holders in {event['district']} for the event")
            index = candidates[position]
            position += 1
            day = (event["starts_on"] + datetime.timedelta(days=rng.randint(0, span))).toordinal()
            if plan.low[index] > day or plan.event[index]:
                continue
            plan.event[index] = number
            plan.channel[index] = C_EVENT
            plan.when[index] = day * 86400 + rng.randrange(10 * 3600, 17 * 3600)
            made += 1
        del candidates[:position]
    disability_day: dict[int, int] = {}
    online_from, online_to = 0.15, 0.35
    span = max(1, as_of_n - spec.first_day.toordinal())
    for index in range(len(plan)):
        kind, person = plan.kind[index], plan.person[index]
        if kind == K_COMPANION:
            continue  # after the disability cards
        if plan.when[index] == 0:
            sampler = school_days if kind == K_STUDENT else days
            day = sampler.draw(plan.low[index], as_of_n)
            if day < 0:
                day = min(max(plan.low[index], spec.first_day.toordinal()), as_of_n)
            plan.when[index] = day * 86400 + rng.randrange(8 * 3600 + 1800, 17 * 3600 + 1800)
            if plan.channel[index] == C_COUNTER:
                share = online_from + (online_to - online_from) * (day - spec.first_day.toordinal()) / span
                plan.channel[index] = C_ONLINE if rng.random() < share else C_COUNTER
        if kind == K_DISABILITY:
            disability_day[people.ids[person]] = plan.when[index] // 86400
    for index in range(len(plan)):
        if plan.kind[index] == K_COMPANION:
            low = max(plan.low[index], disability_day[plan.companion_for[index]])
            day = days.draw(low, as_of_n)
            day = day if day >= 0 else as_of_n
            plan.when[index] = day * 86400 + rng.randrange(8 * 3600 + 1800, 17 * 3600 + 1800)
            plan.channel[index] = C_ONLINE if rng.random() < 0.25 else C_COUNTER
    certificate_of = {}
    for i in range(len(people)):
        if people.disability[i] and people.certificate_expiry[i]:
            certificate_of[people.ids[i]] = people.certificate_expiry[i]
    for index in range(len(plan)):
        issued = datetime.date.fromordinal(plan.when[index] // 86400)
        plan.expires[index] = _valid_until(ctx, index, issued, certificate_of).toordinal()
    _plan_history(ctx, days, certificate_of)


def _valid_until(ctx: Context, index: int, issued: datetime.date, certificate_of: dict) -> datetime.date:
    """As eligibility.valid_until computes it for the issuing service."""
    kind, plan = ctx.plan.kind[index], ctx.plan
    ten_years = birthday_on(issued, 10)
    if kind == K_STUDENT:
        return min(ctx.students[plan.person[index]][2], birthday_on(issued, 6))
    if kind in (K_DISABILITY, K_COMPANION):
        holder = plan.companion_for[index] if kind == K_COMPANION else ctx.people.ids[plan.person[index]]
        expiry = certificate_of.get(holder)
        return min(ten_years, datetime.date.fromordinal(expiry)) if expiry else ten_years
    if kind in (K_MOBILE, K_COBRANDED):
        return birthday_on(issued, 5)
    return ten_years


def _plan_history(ctx: Context, days: DaySampler, certificate_of: dict) -> None:
    """Earlier cards: a printed card lost (or of the old type) and replaced by today's active one;
    the expired student card of a young general-card holder; the lost and cancelled cards' days."""
    rng, spec, people, plan = ctx.rng, ctx.spec, ctx.people, ctx.plan
    first_n, as_of_n = spec.first_day.toordinal(), spec.as_of.toordinal()
    active = len(plan)
    for index in range(active):
        kind, state = plan.kind[index], plan.state[index]
        person = plan.person[index]
        issued_n = plan.when[index] // 86400
        if state in (S_LOST, S_CANCELLED):
            blocked = days.draw(max(plan.when[index] // 86400 + 30, as_of_n - 120), as_of_n)
            if blocked < 0:
                blocked = as_of_n
            plan.blocked[index] = max(
                blocked * 86400 + rng.randrange(8 * 3600, 22 * 3600), plan.when[index] + 3600
            )
            continue
        if plan.event[index] or kind in (K_MOBILE, K_COBRANDED):
            continue
        if kind == K_GENERAL and spec.expired_student_share:
            # A young adult whose student card ran out when they left senior high school.
            birth = datetime.date.fromordinal(people.birth[person])
            left = datetime.date(
                birth.year + (6 if birth <= datetime.date(birth.year, 9, 1) else 7) + 12, 7, 31
            )
            left_n = left.toordinal()
            if first_n + 400 < left_n < issued_n and rng.random() < spec.expired_student_share:
                old_day = days.draw(max(first_n, left_n - 3 * 365), left_n - 200)
                if old_day > 0:
                    old = plan.add(person, K_STUDENT, low=old_day, state=S_EXPIRED, channel=C_COUNTER)
                    plan.when[old] = old_day * 86400 + rng.randrange(8 * 3600 + 1800, 17 * 3600 + 1800)
                    plan.expires[old] = left_n
                    plan.blocked[old] = (left_n + 1) * 86400 + 3600  # the nightly sweep
                    continue
        if kind == K_STUDENT:
            # The card of the previous school stage ran out when the pupil finished it.
            level, start = ctx.students[person][:2]
            left_n = datetime.date(start.year, 7, 31).toordinal()
            if level != SchoolEnrolment.Level.ELEMENTARY and rng.random() < spec.expired_student_share:
                old_day = days.draw(max(first_n, left_n - 3 * 365), left_n - 200)
                if old_day > 0:
                    old = plan.add(person, K_STUDENT, low=old_day, state=S_EXPIRED, channel=C_COUNTER)
                    plan.when[old] = old_day * 86400 + rng.randrange(8 * 3600 + 1800, 17 * 3600 + 1800)
                    plan.expires[old] = left_n
                    plan.blocked[old] = (left_n + 1) * 86400 + 3600  # the nightly sweep
            continue
        if rng.random() >= spec.replaced_share:
            continue
        old_kind = kind
        if kind == K_SENIOR and plan.low[index] > first_n and rng.random() < 0.6:
            old_kind = K_GENERAL  # a type change at 65
        old_low = plan.low[index] if old_kind == kind else max(first_n, people.birth[person] + 30)
        old_day = days.draw(old_low, issued_n - 30)
        if old_day < 0:
            continue
        old = plan.add(person, old_kind, low=old_day, state=S_REPLACED, channel=C_COUNTER,
                       companion_for=plan.companion_for[index])  # fmt: skip
        plan.when[old] = old_day * 86400 + rng.randrange(8 * 3600 + 1800, 17 * 3600 + 1800)
        plan.expires[old] = _valid_until(
            ctx, old, datetime.date.fromordinal(old_day), certificate_of
        ).toordinal()
        lost_n = max(old_day + 1, issued_n - rng.randint(3, 25)) if old_kind == kind else issued_n
        plan.blocked[old] = min(lost_n * 86400 + rng.randrange(8 * 3600, 22 * 3600), plan.when[index])
        plan.replaces[index] = old


# --- writing ----------------------------------------------------------------------------------


def _insert(model, fields: list[str], rows: Iterable[tuple]) -> int:
    """Bulk insert: COPY on PostgreSQL, bulk_create elsewhere. For COPY the rows are written as
    text with ``str()``: None is the NULL marker ("None"), and no generated value holds a tab, a
    newline or a backslash (a batch with a backslash is escaped properly instead)."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        columns = ", ".join(f'"{model._meta.get_field(name).column}"' for name in fields)
        sql = f"COPY \"{model._meta.db_table}\" ({columns}) FROM STDIN WITH (NULL 'None')"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for offset in range(0, len(rows), 5_000):
                batch = rows[offset : offset + 5_000]
                text = "\n".join(["\t".join(map(str, row)) for row in batch]) + "\n"
                if "\\" in text or "\r" in text:
                    text = "".join("\t".join(map(_copy_text, row)) + "\n" for row in batch)
                copy.write(text)
    else:
        model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=500
        )
    return len(rows)


def _copy_text(value) -> str:
    if value is None:
        return "None"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


@contextmanager
def _indexes_rebuilt_after(*models):
    """On PostgreSQL, drop the tables' plain and partial-unique indexes for a large load and build
    them again after it, in the same transaction: building an index once is many times faster than
    updating it row by row, and the unique ones check the loaded rows as they are built."""
    if connection.vendor != "postgresql":
        yield
        return
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND schemaname = current_schema()"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [tables],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the deferred foreign keys now: no index
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # is built with checks pending
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _reset_sequences(*models) -> None:
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(sql)


def _moment(seconds: int, tz) -> datetime.datetime:
    day, rest = divmod(seconds, 86400)
    return datetime.datetime.fromordinal(day).replace(tzinfo=tz) + datetime.timedelta(seconds=rest)


CARD_FIELDS = ["id", "number", "kind", "person_id", "state", "district_id", "channel", "companion_for_id",
               "partner_id", "replaces_id", "application_id", "event_id", "einvoice_carrier", "issued_at",
               "expires_on", "blocked_at", "cancel_reason", "updated_at", "autoload_amount"]  # fmt: skip
APPLICATION_FIELDS = ["id", "number", "person_id", "kind", "reason", "channel", "state", "photo", "companion_for_id",
                      "partner_id", "mobile_number", "replaces_id", "event_id", "receiving_agency_id",
                      "fee_order_id", "submitted_by_id", "reviewed_by_id", "reviewed_at", "decision_note",
                      "created_at", "updated_at"]  # fmt: skip
ENROLMENT_FIELDS = ["card_id", "function_id", "issuer_agency_id", "issuer_partner_id", "issuer_key", "reference",
                    "group", "valid_from", "valid_until", "state", "created_by_id", "created_at", "revoked_at"]  # fmt: skip
BARCODE_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.+-"


def write_cards(ctx: Context, events: list[ExperienceEvent], progress=None) -> dict:
    """Cards in issue order (ids grow with time, as they would), with their applications and
    function enrolments, in batches."""
    rng, spec, people, plan = ctx.rng, ctx.spec, ctx.people, ctx.plan
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    order = sorted(range(len(plan)), key=plan.when.__getitem__)
    next_id = (Card.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    card_id = array("q", bytes(8 * len(plan)))
    for rank, index in enumerate(order):
        card_id[index] = next_id + rank
    serials = rng.sample(range(10**10), len(plan))
    next_application = (CardApplication.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    functions = {f.code: f for f in CardFunction.objects.select_related("provider_agency")}
    offices = dict(Agency.objects.filter(kind=Agency.Kind.DISTRICT_OFFICE).values_list("district_id", "pk"))
    organiser = events[0].organiser_id if events else None
    application_numbers: set[str] = set()
    since = spec.applications_since.toordinal() if spec.applications_since else None
    counts = {"cards": 0, "applications": 0, "enrolments": 0}
    reserved = set(spec.reserved_general)
    for offset in range(0, len(order), BATCH):
        cards, applications, enrolments = [], [], []
        for index in order[offset : offset + BATCH]:
            kind, state, person = plan.kind[index], plan.state[index], plan.person[index]
            person_id = people.ids[person]
            issued = _moment(plan.when[index], tz)
            blocked = _moment(plan.blocked[index], tz) if plan.blocked[index] else None
            event_id = events[plan.event[index] - 1].pk if plan.event[index] else None
            channel = CHANNELS[plan.channel[index]]
            replaces = card_id[plan.replaces[index]] if plan.replaces[index] >= 0 else None
            application_id = None
            if since is not None and state == S_ACTIVE and plan.when[index] // 86400 >= since:
                application_id = next_application
                next_application += 1
                applications.append(
                    _application_row(rng, application_id, application_numbers, person_id, plan, index, issued,
                                     channel, replaces, event_id, offices.get(people.district[person]), organiser)
                )  # fmt: skip
            carrier = ""
            if state == S_ACTIVE and person_id not in reserved:  # the demo citizen's go through the services
                carrier = _enrolment_rows(ctx, enrolments, functions, card_id[index], index, issued)
            cards.append((
                card_id[index], card_number.from_serial(KINDS[kind], serials[index]), KINDS[kind], person_id,
                STATES[state], people.district[person], channel, plan.companion_for[index] or None,
                plan.partner[index] or None, replaces, application_id, event_id, carrier, issued,
                datetime.date.fromordinal(plan.expires[index]), blocked,
                Card.CancelReason.HOLDER_REQUEST if state == S_CANCELLED else "", blocked or issued,
                services.AUTOLOAD_AMOUNT if KINDS[kind] == CardKind.COBRANDED else 0,
            ))  # fmt: skip
        counts["applications"] += _insert(CardApplication, APPLICATION_FIELDS, applications)
        counts["cards"] += _insert(Card, CARD_FIELDS, cards)
        counts["enrolments"] += _insert(FunctionEnrolment, ENROLMENT_FIELDS, enrolments)
        if progress:
            progress(len(cards))
    _reset_sequences(Card, CardApplication)
    return counts


def _application_row(rng, pk, used, person_id, plan, index, issued, channel, replaces, event_id, office,
                     organiser) -> tuple:  # fmt: skip
    kind = plan.kind[index]
    created = (
        issued if event_id else issued - datetime.timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 6))
    )
    while True:
        number = f"CA{timezone.localtime(created):%y%m%d}{rng.randrange(10**8):08d}"
        if number not in used:
            used.add(number)
            break
    if replaces is None:
        reason = CardApplication.Reason.NEW
    else:
        reason = CardApplication.Reason.TYPE_CHANGE if plan.kind[plan.replaces[index]] != kind else (
            CardApplication.Reason.REPLACEMENT)  # fmt: skip
    receiving = organiser if event_id else (office if channel == "counter" else None)
    mobile = f"09{rng.randrange(10**8):08d}" if kind == K_MOBILE else ""
    return (pk, number, person_id, KINDS[kind], reason, channel, CardApplication.State.APPROVED, "",
            plan.companion_for[index] or None, plan.partner[index] or None, mobile, replaces, event_id, receiving,
            None, None, None, issued, "", created, issued)  # fmt: skip


def _enrolment_rows(ctx: Context, rows: list, functions: dict, card_pk: int, index: int, issued) -> str:
    """Function enrolments of an active card; returns its e-invoice carrier (or "")."""
    rng, spec, plan = ctx.rng, ctx.spec, ctx.plan
    kind = KINDS[plan.kind[index]]
    day = issued.date()

    def add(code, agency_id, agency_code, reference, valid_until=None):
        when = issued + datetime.timedelta(days=rng.randint(0, 60))
        when = min(when, issued + datetime.timedelta(days=max(0, (ctx.spec.as_of - day).days)))
        rows.append((card_pk, functions[code].pk, agency_id, None, f"agency:{agency_code}" if agency_code else "",
                     reference, "", when.date(), valid_until, "active", None, when, None))  # fmt: skip

    if kind == CardKind.STUDENT:
        level, start, end, school_id, _name, number = ctx.students[plan.person[index]]
        if school_id is not None and "student_id" in functions:
            school = ctx.school_by_id[school_id]
            add("student_id", school_id, school.code, number, end)
    roll = rng.random()
    for code, share, reference in (
        ("library", spec.library_share, lambda: f"TY{rng.randrange(10**8):08d}"),
        ("health_card", spec.health_share, lambda: f"HC{rng.randrange(10**9):09d}"),
    ):
        if roll < share and code in functions and kind in functions[code].card_kinds:
            provider = functions[code].provider_agency
            add(code, provider.pk if provider else None, provider.code if provider else "", reference())
        roll = rng.random()
    if rng.random() < spec.einvoice_share and "einvoice_carrier" in functions:
        barcode = "/" + "".join(rng.choice(BARCODE_CHARS) for _ in range(7))
        provider = functions["einvoice_carrier"].provider_agency
        add("einvoice_carrier", provider.pk if provider else None, provider.code if provider else "", barcode)
        return barcode
    return ""


def write_school_enrolments(ctx: Context) -> int:
    rows = [
        (ctx.people.ids[i], school_id, name, level, True, number, start, end)
        for i, (level, start, end, school_id, name, number) in ctx.students.items()
    ]
    fields = [
        "person_id",
        "school_id",
        "school_name",
        "level",
        "in_city",
        "student_number",
        "enrolled_on",
        "ends_on",
    ]
    made = 0
    for offset in range(0, len(rows), BATCH):
        made += _insert(SchoolEnrolment, fields, rows[offset : offset + BATCH])
    return made


def mark_needs_companion(person_ids: list[int]) -> None:
    for offset in range(0, len(person_ids), 5_000):
        Person.objects.filter(pk__in=person_ids[offset : offset + 5_000]).update(
            disability_needs_companion=True
        )


def create_events(rng: random.Random, plans: list[dict], people: People) -> list[ExperienceEvent]:
    """The events through the service (each audited), their sign-ups and visit counts in bulk."""
    organiser = Agency.objects.get(code=EVENT_ORGANISER)
    districts = {d.code: d for d in District.objects.all()}
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    residents_by_district: dict[int, list[int]] = {}
    for i in range(len(people)):
        if people.resident[i] and people.has_phone[i]:
            residents_by_district.setdefault(people.district[i], []).append(people.ids[i])
    events, signups, tallies = [], [], []
    linked: list[int] = []
    for plan in plans:
        district = districts[plan["district"]]
        online = round((plan["participants"] * 0.6) + plan["no_shows"])
        event = services.event_create(
            actor=None, title=f"市民卡智慧生活體驗活動({district.name_zh}場)", venue=plan["venue"], district=district,
            address=plan["address"], starts_on=plan["starts_on"], ends_on=plan["ends_on"], organiser=organiser,
            capacity=int(round(online * 1.25, -1)) or None,
            description="體驗市民卡的乘車、借書、電子發票載具等功能,現場可申辦市民卡、參加互動遊戲。(示範資料)",
        )  # fmt: skip
        events.append(event)
        span = (plan["ends_on"] - plan["starts_on"]).days + 1
        pool = residents_by_district.get(district.pk, [])
        total = plan["participants"] + plan["no_shows"]
        for n in range(total):
            came = n < plan["participants"]
            walk_in = came and n >= online - plan["no_shows"]
            day = plan["starts_on"] + datetime.timedelta(days=rng.randrange(span))
            attended = datetime.datetime.combine(day, datetime.time(10), tzinfo=tz) + datetime.timedelta(
                seconds=rng.randrange(7 * 3600)
            )
            signed = attended if walk_in else attended - datetime.timedelta(days=rng.randint(1, 21),
                                                                            seconds=rng.randrange(86400))  # fmt: skip
            person = rng.choice(pool) if pool and rng.random() < 0.35 else None
            if person is not None:
                linked.append(person)
            signups.append([event.pk, _zh_name(rng), f"09{rng.randrange(10**8):08d}", person,
                            EventSignUp.Source.WALK_IN if walk_in else EventSignUp.Source.ONLINE, signed,
                            attended if came else None])  # fmt: skip
        sessions = [
            (plan["starts_on"] + datetime.timedelta(days=d), hour) for d in range(span) for hour in (13, 17)
        ]
        for (day, hour), visits in zip(sessions, split(plan["visits"], [rng.uniform(0.7, 1.3) for _ in sessions]),
                                       strict=True):  # fmt: skip
            if visits:
                tallies.append(
                    (
                        event.pk,
                        datetime.datetime.combine(day, datetime.time(hour), tzinfo=tz),
                        visits,
                        None,
                        "",
                    )
                )
    names = {}
    unique = sorted(set(linked))
    for offset in range(0, len(unique), 900):
        names.update(Person.objects.filter(pk__in=unique[offset : offset + 900]).values_list("pk", "name"))
    for row in signups:
        if row[3] is not None:
            row[1] = names.get(row[3], row[1])
    _insert(EventSignUp, ["event_id", "name", "phone", "person_id", "source", "signed_up_at", "checked_in_at"],
            [tuple(row) for row in signups])  # fmt: skip
    _insert(EventVisitTally, ["event_id", "counted_at", "visits", "recorded_by_id", "key"], tallies)
    return events


SURNAMES = list(ZhTwNames.last_names)
GIVEN_NAMES = (list(ZhTwNames.first_names_male), list(ZhTwNames.first_names_female))


def _zh_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES[rng.random() < 0.5])


def ensure_partners() -> dict[str, CardPartner]:
    """The registry's telecoms (loaded after migrate) and the demo banks of the co-branded cards."""
    if not CardFunction.objects.exists() or not CardPartner.objects.filter(code__in=TELECOM_SHARES).exists():
        services.registry_sync()
    for code, name, _share in DEMO_BANKS:
        if not CardPartner.objects.filter(code=code).exists():
            services.partner_create(actor=None, code=code, name=name, kind=CardPartner.Kind.BANK)
    return {p.code: p for p in CardPartner.objects.all()}


def make_plan(*, spec: Spec, seed: int) -> tuple[Context, list[dict]]:
    """Choose every holder, day and event share; reads the registry, writes nothing."""
    rng = random.Random(seed)
    ensure_partners()
    people = People.load()
    districts = {d.pk: d for d in District.objects.all()}
    schools: dict = {}
    for agency in Agency.objects.filter(kind=Agency.Kind.SCHOOL).exclude(district=None).order_by("code"):
        level = (
            SchoolEnrolment.Level.JUNIOR_HIGH
            if "國民中學" in agency.name_zh
            else SchoolEnrolment.Level.ELEMENTARY
        )
        schools.setdefault((agency.district_id, level), agency)
    ctx = Context(rng=rng, spec=spec, people=people, districts=districts, school_agencies=schools,
                  school_by_id={agency.pk: agency for agency in schools.values()})  # fmt: skip
    plan_cards(ctx)
    event_plans = plan_events(rng, spec)
    draw_days(ctx, event_plans, {d.code: d.pk for d in districts.values()})
    return ctx, event_plans


def generate_cards(*, spec: Spec, seed: int, progress_factory=None) -> dict:
    """The bulk path of both scales: plan, then write everything in one transaction."""
    bar = progress_factory(sum(spec.mix.values())) if progress_factory else None
    if bar is not None and hasattr(bar, "set_description"):
        bar.set_description("card: choosing holders")
    ctx, event_plans = make_plan(spec=spec, seed=seed)
    with transaction.atomic():
        events = create_events(ctx.rng, event_plans, ctx.people)
        enrolled = write_school_enrolments(ctx)
        mark_needs_companion(ctx.needs_companion)
        if bar is not None and hasattr(bar, "set_description"):
            bar.set_description("card: writing cards")
            bar.total = len(ctx.plan)
        large = len(ctx.plan) >= INDEX_REBUILD_ROWS
        with _indexes_rebuilt_after(Card, FunctionEnrolment) if large else nullcontext():
            counts = write_cards(ctx, events, progress=bar.update if bar else None)
    if bar:
        bar.close()
    return {**counts, "school_enrolments": enrolled, "events": len(events),
            "needs_companion_noted": len(ctx.needs_companion)}  # fmt: skip


# --- small: the review queue and the demo logins, through the services -----------------------


def portrait_jpeg(seed: int) -> bytes:
    """A plain ID-photo-like portrait: a coloured background, a head and shoulders."""
    rng = random.Random(seed)
    image = Image.new(
        "RGB", (413, 531), (rng.randint(180, 230), rng.randint(200, 235), rng.randint(220, 250))
    )
    draw = ImageDraw.Draw(image)
    skin = (rng.randint(200, 240), rng.randint(160, 200), rng.randint(130, 170))
    cloth = (rng.randint(20, 90), rng.randint(20, 90), rng.randint(40, 120))
    draw.ellipse((80, 390, 333, 640), fill=cloth)
    draw.ellipse((131, 130, 282, 330), fill=skin)
    draw.pieslice((125, 110, 288, 280), 180, 360, fill=(30, 25, 25))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()


def _small_queue(seed: int) -> dict:
    """Applications in the demo clerk's queue, a type change, a lost card awaiting its replacement
    fee, and the demo citizen's functions: all through the services, so each is audited."""
    rng = random.Random(seed + 1)
    today = timezone.localdate()
    office = Agency.objects.filter(staff_roles__user__username="clerk").first()
    district = office.district if office is not None and office.district_id else District.objects.first()
    holders = Card.objects.filter(
        state=Card.State.ACTIVE, kind__in=["general", "student", "senior", "disability"]
    )
    without_card = (Person.objects.filter(district=district, user__isnull=True, deceased_on__isnull=True,
                                          moved_out_on__isnull=True)
                    .exclude(pk__in=holders.values("person_id")).exclude(card_applications__isnull=False)
                    .order_by("id"))  # fmt: skip
    adults = list(without_card.filter(birth_date__lte=_years_before(today, 20))[:400])
    seniors = [p for p in adults if p.birth_date <= _years_before(today, 66)]
    made = {"submitted": 0, "type_change": 0, "awaiting_payment": 0}
    applicants = [p for p in adults if p not in seniors]
    rng.shuffle(applicants)
    applicants, decided = applicants[:3], applicants[3:6]
    for n, person in enumerate(applicants):
        services.application_submit(actor=None, person=person, kind=CardKind.GENERAL,
                                    channel=Channel.COUNTER if n < 2 else Channel.ONLINE,
                                    photo=portrait_jpeg(seed + n), receiving_agency=office if n < 2 else None)  # fmt: skip
        made["submitted"] += 1
    if seniors:
        services.application_submit(actor=None, person=seniors[0], kind=CardKind.SENIOR, channel=Channel.ONLINE,
                                    photo=portrait_jpeg(seed + 10))  # fmt: skip
        made["submitted"] += 1
    child = without_card.filter(birth_date__lte=_years_before(today, 7), birth_date__gt=_years_before(today, 17),
                                school_enrolments__isnull=True).first()  # fmt: skip
    school = Agency.objects.filter(kind=Agency.Kind.SCHOOL, district=district).first()
    if child is not None and school is not None:
        stage = _school_stage(child.birth_date, today)
        core_services.school_enrolment_record(
            actor=None, person=child, school_name=school.name_zh, level=stage[0], enrolled_on=stage[1],
            school=school, student_number=f"{stage[1].year % 100:02d}{rng.randrange(10**5):05d}", ends_on=stage[2],
        )  # fmt: skip
        services.application_submit(actor=None, person=child, kind=CardKind.STUDENT, channel=Channel.COUNTER,
                                    photo=portrait_jpeg(seed + 11), receiving_agency=office)  # fmt: skip
        made["submitted"] += 1
    local = Card.objects.filter(state=Card.State.ACTIVE, district=district, person__user__isnull=True)
    turned_65 = local.filter(
        kind=CardKind.GENERAL, person__birth_date__lte=_years_before(today, 65)
    ).order_by("id")
    old = turned_65.first()
    if old is not None:
        services.type_change_request(actor=None, card=old, kind=CardKind.SENIOR, channel=Channel.COUNTER,
                                     photo=portrait_jpeg(seed + 12), receiving_agency=office)  # fmt: skip
        made["type_change"] += 1
    lost = (
        local.filter(kind=CardKind.GENERAL).exclude(pk=old.pk if old else None).order_by("-issued_at").first()
    )
    if lost is not None:
        services.card_report_lost(actor=None, card=lost, lost_at=timezone.now() - datetime.timedelta(days=2))
        services.replacement_request(actor=None, card=lost, channel=Channel.COUNTER, photo=portrait_jpeg(seed + 13),
                                     receiving_agency=office)  # fmt: skip
        made["awaiting_payment"] += 1
    # A few decided applications of people without a card: rejected and withdrawn.
    for n, person in enumerate(decided):
        application = services.application_submit(actor=None, person=person, kind=CardKind.GENERAL,
                                                  channel=Channel.ONLINE, photo=portrait_jpeg(seed + 20 + n))  # fmt: skip
        if n < 2:
            services.application_reject(actor=None, application=application,
                                        reason="照片不符規定:請上傳近六個月內脫帽正面照片。(示範資料)")  # fmt: skip
        else:
            services.application_withdraw(actor=None, application=application)
    return made


def _demo_citizen_functions() -> int:
    card = Card.objects.filter(
        person__user__username="citizen", state=Card.State.ACTIVE, kind="general"
    ).first()
    if card is None:
        return 0
    library = CardFunction.objects.filter(code="library").first()
    made = 0
    if library is not None and not card.enrolments.filter(function=library).exists():
        services.function_enrol(card=card, function=library, reference="TY20190127")
        made += 1
    if not card.einvoice_carrier:
        services.einvoice_carrier_bind(actor=None, card=card, barcode="/CS2019A")
        made += 1
    return made


def generate(*, scale: str, seed: int = 2019, progress_factory=None, fraction: float = 1.0) -> dict:
    """Called by ``civicstack demo-data`` after residents and the demo logins exist. ``fraction``
    scales the seed mix down (tests, quick benchmarks)."""
    existing = Card.objects.count()
    if existing:
        return {"cards_created": 0, "cards_total": existing}
    if scale == "seed":
        spec = seed_spec(fraction)
        counts = generate_cards(spec=spec, seed=seed, progress_factory=progress_factory)
        queue = {}
    else:
        citizen = User.objects.filter(username="citizen").values_list("person__pk", flat=True).first()
        spec = small_spec(timezone.localdate(), reserved=(citizen,) if citizen else ())
        counts = generate_cards(spec=spec, seed=seed)
        queue = _small_queue(seed)
        queue["citizen_functions"] = _demo_citizen_functions()
    from . import demo_usage, nearby

    counts.update(demo_usage.generate(scale=scale, seed=seed))
    counts.update(nearby.generate(scale=scale, seed=seed))
    audit_record(actor=None, action="card.demo_generated", object_type="card.card",
                 data={"scale": scale, "fraction": fraction, "as_of": spec.as_of.isoformat(), **counts})  # fmt: skip
    return {"cards_created": counts["cards"], "cards_total": Card.objects.count(),
            "active": Card.objects.filter(state=Card.State.ACTIVE).count(), **counts, **queue}  # fmt: skip
