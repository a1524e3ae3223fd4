"""Demo data: believable residents with valid numbers, households, and the four demo logins."""

import datetime
import random
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q

from civicstack.core import demo, identity, selectors, services
from civicstack.core.city_profile import profile_path, read_profile
from civicstack.core.models import Agency, District, Household, Notification, Person, StaffRole, User

# A household is a head, maybe a spouse, up to three children and maybe a parent.
LARGEST_HOUSEHOLD = 6


@pytest.fixture
def small_demo(db):
    assert not Person.objects.exists()
    return demo.load_demo_data(scale="small")


def test_small_scale_creates_about_two_thousand_people(small_demo):
    # given an empty people registry, when the small demo data is loaded
    # then about 2,000 people are created (whole households, so at most a household more)
    total = Person.objects.count()
    assert (small_demo["people_created"], small_demo["people_total"]) == (total, total)
    assert set(small_demo["modules"]) == set(demo._MODULE_GENERATORS)
    assert demo.SCALES["small"] <= total < demo.SCALES["small"] + LARGEST_HOUSEHOLD
    # spread over every district
    assert set(Person.objects.values_list("district_id", flat=True)) == set(
        District.objects.values_list("id", flat=True)
    )


def test_demo_people_have_valid_identifiers(small_demo):
    # given the demo people, a sample of 200 of them
    ids = sorted(Person.objects.values_list("id", flat=True))
    sample = random.Random(2019).sample(ids, 200)
    numbers = set()
    for person in Person.objects.filter(id__in=sample):
        # when the stored number is decrypted
        number = services.person_identifier(person)
        # then it is valid, of the kind stored, masked and digested consistently
        assert identity.validate(number) == (number, person.id_kind)
        assert person.id_masked == identity.mask(number)
        assert person.id_digest == selectors.person_digest(number)
        # and its sex digit agrees with the person's sex
        assert number[1] in ({"1", "8"} if person.sex == "M" else {"2", "9"})
        numbers.add(number)
    assert len(numbers) == 200
    # and the digests are unique across everyone
    assert Person.objects.values("id_digest").distinct().count() == Person.objects.count()


def test_addresses_start_with_their_district_name(small_demo):
    # given every demo person and household, when their address is read
    names = dict(District.objects.values_list("id", "name_zh"))
    people = list(
        Person.objects.values_list("district_id", "address", "village__name_zh", "village__district_id")
    )
    # then each starts with its district's name, then its village's
    for district_id, address, village_name, village_district in people:
        assert address.startswith(names[district_id]), address
        assert address.startswith(names[district_id] + (village_name or "")), address
        assert village_district in (None, district_id)
    for household in Household.objects.select_related("district"):
        assert household.address.startswith(household.district.name_zh), household.address


def test_every_household_has_exactly_one_head(small_demo):
    # given the demo households
    households = Household.objects.annotate(
        heads=Count("members", filter=Q(members__relationship=Person.Relationship.HEAD)),
        size=Count("members"),
    )
    # then each has one head, at most six members, and all live at the household's address
    assert households.count() > 300
    assert Counter(h.heads for h in households) == {1: households.count()}
    assert max(h.size for h in households) <= LARGEST_HOUSEHOLD
    assert not Person.objects.filter(household__isnull=True).exists()
    assert not Person.objects.exclude(address=F("household__address")).exists()
    assert not Person.objects.exclude(district=F("household__district")).exists()


def test_the_four_demo_logins(small_demo):
    # given the demo data loaded
    # then the four demo logins exist and log in with the documented passwords
    assert [login.username for login in demo.DEMO_LOGINS] == ["citizen", "clerk", "supervisor", "cityadmin"]
    for login in demo.DEMO_LOGINS:
        user = User.objects.get(username=login.username)
        assert user.check_password(login.password), login.username
        assert user.is_active
    # and the staff have the expected roles in the expected agencies
    second_district = list(District.objects.all())[1]
    office = Agency.objects.get(kind=Agency.Kind.DISTRICT_OFFICE, district=second_district)
    roles = {
        (r.user.username, r.agency.code, r.role)
        for r in StaffRole.objects.filter(user__username__in=["citizen", "clerk", "supervisor", "cityadmin"])
        .select_related("user", "agency")
    }  # fmt: skip
    assert roles == {
        ("clerk", office.code, StaffRole.Role.CLERK),
        ("supervisor", office.code, StaffRole.Role.SUPERVISOR),
        ("cityadmin", "TYC-L1-26", StaffRole.Role.CITY_ADMIN),
    }
    assert User.objects.get(username="clerk").is_staff
    assert selectors.staff_scope(User.objects.get(username="cityadmin")).all_agencies
    # and the citizen is linked to a head of household in that district, with a welcome message
    citizen = User.objects.get(username="citizen")
    assert not citizen.is_staff
    person = Person.objects.get(user=citizen)
    assert (person.district_id, person.relationship) == (second_district.pk, Person.Relationship.HEAD)
    assert citizen.first_name == person.name
    assert person.email == citizen.email == "citizen@demo.civicstack.invalid"
    # (other modules' demos may add their own messages, e.g. welfare's benefits he may apply for)
    assert "歡迎使用桃園市民服務 Welcome" in Notification.objects.filter(recipient=citizen).values_list(
        "subject", flat=True
    )


def test_loading_again_creates_nobody_new(small_demo):
    # given the demo data loaded once
    people, households = Person.objects.count(), Household.objects.count()
    users, roles = User.objects.count(), StaffRole.objects.count()
    notifications = Notification.objects.count()
    citizen_person = Person.objects.get(user__username="citizen").pk
    # when it is loaded again
    again = demo.load_demo_data(scale="small")
    # then nobody, no household, login, role or message is added, and the citizen keeps their record
    assert (again["people_created"], again["people_total"]) == (0, people)
    assert (Person.objects.count(), Household.objects.count()) == (people, households)
    assert (User.objects.count(), StaffRole.objects.count()) == (users, roles)
    assert Notification.objects.count() == notifications
    assert Person.objects.get(user__username="citizen").pk == citizen_person


def test_demo_data_cli_prints_the_logins(db):
    # given an empty registry, when `civicstack demo-data` runs, then it reports and lists the logins
    out = StringIO()
    call_command("demo_data", "--scale", "small", "--no-progress", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert f"demo data (small): {Person.objects.count():,} residents created" in text
    for login in demo.DEMO_LOGINS:
        assert f"  {login.username:<11} password: {login.password:<22} {login.description}" in text
    # and --if-empty then does nothing
    out = StringIO()
    call_command("demo_data", "--if-empty", "--no-progress", stdout=out, stderr=StringIO())
    assert out.getvalue().startswith("demo data already present; nothing to do")


def draw(seed: int, households: int = 40):
    generator = demo.Generator(seed, list(District.objects.all()), read_profile(profile_path()))
    drawn = []
    for _ in range(households):
        household, members = generator.household()
        drawn.append(
            (household.address, household.district_id,
             [(p.name, p.sex, p.birth_date, p.relationship, p.id_masked, p.phone) for p in members])
        )  # fmt: skip
    return drawn


def test_the_same_seed_gives_the_same_people(db):
    # given two generators with the same seed, and one with another (in memory: nothing saved)
    before = Person.objects.count()
    first, second, other = draw(2019), draw(2019), draw(2020)
    # then the same seed draws the same households, names, birth dates and numbers
    assert first == second
    names = [name for _, _, members in first for name, *_ in members]
    assert len(names) >= 40
    # and another seed draws other people
    assert names != [name for _, _, members in other for name, *_ in members]
    # and nothing was written
    assert Person.objects.count() == before == 0
    # and names are zh-TW: a surname and given name in Chinese characters
    assert all(2 <= len(name) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in name) for name in names)


def test_households_are_believable_families(db):
    # given many drawn households
    for _, _, members in draw(7, households=400):
        by_role = {}
        for _name, _sex, birth_date, relationship, _masked, _phone in members:
            by_role.setdefault(relationship, []).append(birth_date)
        head = by_role["head"][0]
        parents = [head, *by_role.get("spouse", [])]
        today = datetime.date.today()
        # then heads and spouses are adults
        assert all((today - born).days >= 20 * 365 for born in parents)
        # and every child was born when both parents were at least 22
        for child in by_role.get("child", []):
            assert all((child - parent).days >= 22 * 365 for parent in parents)
