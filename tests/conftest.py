"""Shared fixtures: the city profile loaded once per test database, people and logins of every
kind (citizen, clerks of two districts, a supervisor, an agency administrator, a city admin)."""

import datetime
import itertools
import os
import random

import pytest
from django.test import Client

from civicstack.core import identity, services
from civicstack.core.city_profile import city_profile_load
from civicstack.core.models import Agency, District, StaffRole, User

PASSWORD = "correct-horse-battery-staple"

# Playwright's sync API (the browser tests) runs its event loop in this thread between its calls;
# with one pytest worker a core, database tests may follow browser tests in the same process, and
# Django would take that loop for an async context. Our tests are synchronous: say so, as
# Playwright's documentation advises for Django.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        city_profile_load()


@pytest.fixture(scope="class")
def city_profile_restored_after_flush(django_db_blocker):
    """A transactional test ends by flushing every table; put the city profile back for the tests
    that run after it. Class scope: used by a class of transactional tests, it is torn down after
    their flush."""
    yield
    with django_db_blocker.unblock():
        if not District.objects.exists():
            city_profile_load()


@pytest.fixture
def rng():
    return random.Random(20191127)


_numbers = itertools.count(1)


def new_identifier(sex: str = "M", letter: str = "H") -> str:
    """A valid national ID never used before in this test run."""
    prefix = f"{letter}{'1' if sex == 'M' else '2'}{next(_numbers):07d}"
    return prefix + identity.check_digit_for(prefix)


@pytest.fixture
def districts(db):
    all_districts = list(District.objects.all())
    return all_districts[0], all_districts[1]


@pytest.fixture
def make_person(db, districts):
    def make(
        *, district=None, name="王小明", sex="M", birth_date=datetime.date(1980, 5, 17), user=None, **extra
    ):
        data = services.PersonInput(
            identifier=extra.pop("identifier", None) or new_identifier(sex), name=name, birth_date=birth_date,
            sex=sex, district=district or districts[0], **extra,
        )  # fmt: skip
        return services.person_register(actor=None, data=data, user=user)

    return make


@pytest.fixture
def people(make_person, districts):
    """One resident of district A and one of district B, with known identifiers."""
    a, b = districts
    id_a, id_b = new_identifier("M"), new_identifier("F")
    person_a = make_person(district=a, name="張志明", identifier=id_a)
    person_b = make_person(district=b, name="李佳穎", sex="F", identifier=id_b)
    return {"a": (person_a, id_a), "b": (person_b, id_b)}


@pytest.fixture
def make_user(db):
    def make(username: str, **fields) -> User:
        return User.objects.create_user(username=username, password=PASSWORD, **fields)

    return make


def district_office(district: District) -> Agency:
    return Agency.objects.get(kind=Agency.Kind.DISTRICT_OFFICE, district=district)


@pytest.fixture
def staff(db, make_user, districts):
    """Logins of every staff kind, keyed by name."""
    a, b = districts
    city_government = Agency.objects.get(kind=Agency.Kind.CITY_GOVERNMENT)
    civil_affairs = Agency.objects.filter(kind=Agency.Kind.FIRST_LEVEL).order_by("code").first()
    people = {
        "clerk_a": (district_office(a), StaffRole.Role.CLERK),
        "supervisor_a": (district_office(a), StaffRole.Role.SUPERVISOR),
        "clerk_b": (district_office(b), StaffRole.Role.CLERK),
        "agency_admin_a": (district_office(a), StaffRole.Role.AGENCY_ADMIN),
        "bureau_clerk": (civil_affairs, StaffRole.Role.CLERK),
        "city_admin": (city_government, StaffRole.Role.CITY_ADMIN),
    }
    made = {}
    for username, (agency, role) in people.items():
        user = make_user(username)
        services.staff_role_grant(actor=None, user=user, agency=agency, role=role)
        made[username] = User.objects.get(pk=user.pk)
    return made


@pytest.fixture
def citizen(make_user, make_person):
    user = make_user("citizen", email="citizen@example.org")
    person = make_person(user=user, name="陳美玲", sex="F")
    return user, person


@pytest.fixture
def client_for():
    """A test client logged in as the given user (session auth)."""

    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return make


@pytest.fixture
def token_for():
    """The bearer token header for a user, as POST /api/v1/auth/token would give."""

    def make(user: User) -> dict:
        raw, _ = services.api_token_issue(user=user)
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return make
