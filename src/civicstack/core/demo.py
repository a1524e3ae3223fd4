"""Believable demo data for a city profile: residents in households with valid ID numbers,
zh-TW names, addresses on real streets of real villages, and the demo logins.

``small`` (2,000 residents) runs in seconds for the demo and tests; ``seed`` reaches the
report's scale (2.2 million residents) by bulk inserts in batches, with a progress bar.
"""

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from faker.providers.person.zh_TW import Provider as ZhTwNames

from . import identity
from .city_profile import city_profile_load, profile_path, read_profile
from .models import Agency, District, Household, Person, StaffRole, User, Village
from .services import audit_record, identifier_fields, notification_send, staff_role_grant

SCALES = {"small": 2_000, "seed": 2_200_000}

# Modules add their own demo data (after residents and logins exist) from AppConfig.ready():
# register_demo_generator("fines", generate) where generate(*, scale, seed, progress_factory) -> dict.
_MODULE_GENERATORS: dict[str, Callable] = {}


def register_demo_generator(name: str, generate: Callable) -> None:
    _MODULE_GENERATORS[name] = generate


BATCH = 5_000


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    description: str


DEMO_LOGINS = [
    DemoLogin("citizen", "citizen-demo-2019", "citizen", "a citizen with a household record"),
    DemoLogin("clerk", "clerk-demo-2019", StaffRole.Role.CLERK, "a clerk of the second district's office"),
    DemoLogin(
        "supervisor", "supervisor-demo-2019", StaffRole.Role.SUPERVISOR, "the same office's supervisor"
    ),
    DemoLogin("cityadmin", "cityadmin-demo-2019", StaffRole.Role.CITY_ADMIN, "a city administrator"),
]


class Generator:
    """Draws people; every draw comes from one seeded RNG so the same seed gives the same city."""

    def __init__(self, seed: int, districts: list[District], profile: dict):
        self.rng = random.Random(seed)
        self.districts = districts
        by_code = {row["code"]: row for row in profile["districts"]}
        self.weights = [by_code[d.code].get("population_approx", 1) for d in districts]
        self.streets = {d.code: by_code[d.code].get("streets") or ["中正路"] for d in districts}
        villages: dict[int, list[Village]] = {}
        for village in Village.objects.all():
            villages.setdefault(village.district_id, []).append(village)
        self.villages = villages
        self.surnames = [name for name in ZhTwNames.last_names]
        self.given_male = list(ZhTwNames.first_names_male)
        self.given_female = list(ZhTwNames.first_names_female)
        # Numbers drawn in this run; numbers already stored are caught by the unique digest.
        self.used_numbers: set[str] = set()
        self.today = datetime.date.today()
        self.household_counter = Household.objects.count()

    def number(self, sex: str) -> str:
        # Most residents were born in Taoyuan (letter H); others came from elsewhere in Taiwan.
        letter = "H" if self.rng.random() < 0.7 else self.rng.choice("ABCDEFGJKLMNPQRTUVXYZ")
        resident = self.rng.random() < 0.02
        while True:
            number = identity.generate(self.rng, letter=letter, sex=sex, resident=resident)
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    def name(self, sex: str, surname: str | None = None) -> str:
        given = self.rng.choice(self.given_male if sex == "M" else self.given_female)
        return (surname or self.rng.choice(self.surnames)) + given

    def birth_date(self, min_age: int, max_age: int) -> datetime.date:
        age_days = self.rng.randint(min_age * 365, max_age * 365 + 364)
        return self.today - datetime.timedelta(days=age_days)

    def person(self, *, sex, birth_date, district, village, address, household, relationship, surname=None,
               indigenous_share=0.02) -> Person:  # fmt: skip
        number = self.number(sex)
        roll = self.rng.random()
        income = Person.IncomeStatus.LOW if roll < 0.02 else (
            Person.IncomeStatus.MID_LOW if roll < 0.045 else Person.IncomeStatus.GENERAL)  # fmt: skip
        disability = ""
        if self.rng.random() < 0.05:
            disability = self.rng.choice(["mild", "mild", "moderate", "moderate", "severe", "profound"])
        age = (self.today - birth_date).days // 365
        return Person(
            **identifier_fields(number, identity.identifier_kind(number)),
            name=self.name(sex, surname),
            birth_date=birth_date,
            sex=sex,
            district=district,
            village=village,
            address=address,
            registered_since=self.birth_date(0, min(age, 40)) if age > 0 else birth_date,
            household=household,
            relationship=relationship,
            phone=f"09{self.rng.randrange(10**8):08d}" if age >= 15 else "",
            income_status=income,
            disability_level=disability,
            indigenous=self.rng.random() < indigenous_share,
        )

    def household(self) -> tuple[Household, list[Person]]:
        district = self.rng.choices(self.districts, weights=self.weights)[0]
        villages = self.villages.get(district.pk) or [None]
        village = self.rng.choice(villages)
        street = self.rng.choice(self.streets[district.code])
        neighbourhood = f"{self.rng.randint(1, 30)}鄰" if village else ""
        address = (
            f"{district.name_zh}{village.name_zh if village else ''}{neighbourhood}{street}"
            f"{self.rng.randint(1, 480)}號"
            + (f"{self.rng.randint(2, 15)}樓" if self.rng.random() < 0.5 else "")
        )
        self.household_counter += 1
        household = Household(
            number=f"{district.code[-3:]}{self.household_counter:08d}", district=district, village=village,
            address=address,
        )  # fmt: skip
        indigenous_share = 0.6 if district.indigenous_mountain else 0.02
        common = dict(district=district, village=village, address=address, household=household,
                      indigenous_share=indigenous_share)  # fmt: skip
        head_sex = self.rng.choice("MF")
        head_birth = self.birth_date(22, 90)
        head_age = (self.today - head_birth).days // 365
        surname = self.rng.choice(self.surnames)
        members = [
            self.person(sex=head_sex, birth_date=head_birth, relationship="head", surname=surname, **common)
        ]
        parent_births = [head_birth]
        if self.rng.random() < 0.65:
            # A spouse within about four years of the head's age, and an adult.
            spouse_birth = head_birth + datetime.timedelta(days=self.rng.randint(-1500, 1500))
            spouse_birth = min(spouse_birth, self.today - datetime.timedelta(days=20 * 366))
            parent_births.append(spouse_birth)
            members.append(self.person(sex="F" if head_sex == "M" else "M", birth_date=spouse_birth,
                                       relationship="spouse", **common))  # fmt: skip
        # Children born when both parents were at least 22, and at most 30 years ago.
        earliest = max(
            max(parent_births) + datetime.timedelta(days=22 * 366),
            self.today - datetime.timedelta(days=30 * 365),
        )
        if earliest < self.today and head_age <= 60:
            span = (self.today - earliest).days
            for _ in range(self.rng.choice([0, 1, 1, 2, 2, 3])):
                child_birth = earliest + datetime.timedelta(days=self.rng.randint(0, span))
                members.append(self.person(sex=self.rng.choice("MF"), birth_date=child_birth,
                                           relationship="child", surname=surname, **common))  # fmt: skip
        if head_age <= 55 and self.rng.random() < 0.15:
            members.append(self.person(sex=self.rng.choice("MF"), birth_date=self.birth_date(70, 95),
                                       relationship="parent", surname=surname, **common))  # fmt: skip
        return household, members


def generate_people(*, count: int, seed: int, progress: Callable[[int], None] | None = None) -> int:
    """Insert ``count`` residents (whole households, so a few more) in batches."""
    profile = read_profile(profile_path())
    generator = Generator(seed, list(District.objects.all()), profile)
    made = 0
    while made < count:
        households: list[Household] = []
        people: list[Person] = []
        while len(people) < BATCH and made + len(people) < count:
            household, members = generator.household()
            households.append(household)
            people.extend(members)
        with transaction.atomic():
            Household.objects.bulk_create(households)
            for person in people:  # bulk_create set the households' primary keys
                person.household_id = person.household.pk
            Person.objects.bulk_create(people, batch_size=1000)
        made += len(people)
        if progress:
            progress(len(people))
    return made


def ensure_demo_logins(generator_seed: int = 2019) -> list[DemoLogin]:
    """Create the four demo logins (idempotent) and link the citizen to a resident record."""
    districts = list(District.objects.all())
    clerk_district = districts[1] if len(districts) > 1 else districts[0]
    office = (
        Agency.objects.filter(kind=Agency.Kind.DISTRICT_OFFICE, district=clerk_district).first()
        or Agency.objects.filter(district=clerk_district).first()
    )
    it_department = (
        Agency.objects.filter(name_en__icontains="information technology").first()
        or Agency.objects.filter(kind=Agency.Kind.CITY_GOVERNMENT).first()
    )
    with transaction.atomic():
        for login in DEMO_LOGINS:
            user, created = User.objects.get_or_create(username=login.username)
            if created:
                user.set_password(login.password)
                user.email = f"{login.username}@demo.civicstack.invalid"
                user.save()
            if login.role == "citizen":
                if not Person.objects.filter(user=user).exists():
                    # A head of a family household, so "my data" has household members to show.
                    person = (
                        Person.objects.filter(user__isnull=True, relationship="head", district=clerk_district)
                        .annotate(members=Count("household__members"))
                        .filter(members__gte=3)
                        .order_by("id")
                        .first()
                    )
                    if person is not None:
                        person.user = user
                        person.email = user.email
                        person.save(update_fields=["user", "email", "updated_at"])
                        user.first_name = person.name
                        user.save(update_fields=["first_name"])
                        notification_send(
                            recipient=user, subject="歡迎使用桃園市民服務 Welcome",
                            body="您的戶籍資料已連結到此帳號。Your household record is now linked to this login.",
                            url="/my/",
                        )  # fmt: skip
            else:
                agency = it_department if login.role == StaffRole.Role.CITY_ADMIN else office
                staff_role_grant(actor=None, user=user, agency=agency, role=login.role)
    return DEMO_LOGINS


def load_demo_data(*, scale: str, seed: int = 2019, progress_factory=None) -> dict:
    if not District.objects.exists():
        city_profile_load()
    target = SCALES[scale]
    existing = Person.objects.count()
    created = 0
    if existing < target:
        bar = progress_factory(target - existing) if progress_factory else None
        created = generate_people(
            count=target - existing, seed=seed + existing, progress=bar.update if bar else None
        )
        if bar:
            bar.close()
    ensure_demo_logins()
    modules = {
        name: generate(scale=scale, seed=seed, progress_factory=progress_factory)
        for name, generate in sorted(_MODULE_GENERATORS.items())
    }
    audit_record(
        actor=None, action="demo_data.generated", object_type="core.person",
        data={"scale": scale, "created": created, "modules": sorted(modules)},
    )  # fmt: skip
    return {"people_created": created, "people_total": Person.objects.count(), "modules": modules}
