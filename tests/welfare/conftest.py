"""Fixtures of the welfare tests: a small hand-made catalog of three benefits of the social affairs
bureau (a senior benefit, a childbirth benefit, a low-income housing one) and the bureau's staff."""

import datetime

import pytest
from django.utils import translation

from civicstack.core.models import Agency, StaffRole, User
from civicstack.core.services import staff_role_grant
from civicstack.welfare import services

START = datetime.date(2018, 1, 1)

SENIOR = {
    "all": [{"fact": "age", "op": ">=", "value": 65}, {"fact": "residence_years", "op": ">=", "value": 1}]
}
BIRTH = {"fact": "recent_birth", "op": "==", "value": True}
RENT = {"all": [{"fact": "housing", "op": "==", "value": "rent"},
                {"fact": "income_class", "op": "in", "value": ["low", "mid_low"]}]}  # fmt: skip


@pytest.fixture(autouse=True)
def english(settings):
    """The assertions below read English messages; pages and the API default to zh-Hant."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def bureau(db):
    return Agency.objects.get(code="TYC-L1-08")  # 社會局


def add_benefit(code, condition, *, agency, name=None, category="senior", item=""):
    return services.benefit_create(actor=None, data=services.BenefitInput(
        code=code, name=name or code, agency=agency, category=category, amount_text="NT$1,000",
        eservices_item_code=item), condition=condition, effective_from=START)  # fmt: skip


@pytest.fixture
def catalog(bureau):
    return {
        "senior": add_benefit("T-SENIOR", SENIOR, agency=bureau, name="重陽敬老禮金"),
        "birth": add_benefit("T-BIRTH", BIRTH, agency=bureau, name="生育津貼", category="childbirth"),
        "rent": add_benefit("T-RENT", RENT, agency=bureau, name="租金補貼", category="housing"),
    }


def staff_user(username: str, agency: Agency, role: str) -> User:
    # No password: hashing one (Argon2) costs more than the tests that use these logins.
    user = User.objects.create(username=username)
    staff_role_grant(actor=None, user=user, agency=agency, role=role)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def bureau_staff(db, bureau, districts):
    """The social affairs bureau's supervisor and clerk, a district office's supervisor and clerk
    (another agency), and a city administrator."""
    office = Agency.objects.get(kind=Agency.Kind.DISTRICT_OFFICE, district=districts[0])
    city = Agency.objects.get(kind=Agency.Kind.CITY_GOVERNMENT)
    logins = {
        "welfare_supervisor": (bureau, StaffRole.Role.SUPERVISOR),
        "welfare_clerk": (bureau, StaffRole.Role.CLERK),
        "supervisor_a": (office, StaffRole.Role.SUPERVISOR),
        "clerk_a": (office, StaffRole.Role.CLERK),
        "city_admin": (city, StaffRole.Role.CITY_ADMIN),
    }
    return {name: staff_user(name, agency, role) for name, (agency, role) in logins.items()}
