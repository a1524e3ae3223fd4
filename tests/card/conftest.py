"""Card fixtures: a valid ID photo, a card desk clerk of the issuing agency, and a helper that
applies for and issues a card in one step (the path every lifecycle test starts from)."""

import datetime
import io

import pytest
from django.utils import timezone, translation
from PIL import Image

from civicstack.card import services
from civicstack.card.models import CardPartner
from civicstack.core import services as core_services
from civicstack.core.models import Agency, StaffRole


@pytest.fixture(autouse=True)
def english_messages():
    """Service messages in English, so tests may match their words whatever the catalog says
    (pages still follow each request's language)."""
    with translation.override("en"):
        yield


def jpeg_bytes(width: int = 413, height: int = 531, fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 180, 160)).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def photo() -> bytes:
    return jpeg_bytes()


@pytest.fixture
def card_agency(db) -> Agency:
    return Agency.objects.get(code="TYC-L1-26")


@pytest.fixture
def card_clerk(make_user, card_agency):
    user = make_user("card_clerk")
    core_services.staff_role_grant(actor=None, user=user, agency=card_agency, role=StaffRole.Role.CLERK)
    return user


@pytest.fixture
def bank(db) -> CardPartner:
    return services.partner_create(
        actor=None, code="demo-bank", name="示範商業銀行", kind=CardPartner.Kind.BANK
    )


@pytest.fixture
def telecom(db) -> CardPartner:
    return CardPartner.objects.get(code="cht")


@pytest.fixture
def issue_card(photo):
    """Apply for and approve a card as the system; returns the issued card."""

    def issue(person, kind="general", **extra):
        if kind in services.PRINTED_KINDS:
            extra.setdefault("photo", photo)
        application = services.application_submit(actor=None, person=person, kind=kind, **extra)
        return services.application_approve(actor=None, application=application)

    return issue


def _next_monday_at(hour: int) -> datetime.datetime:
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=7 - today.weekday())
    return timezone.make_aware(datetime.datetime.combine(monday, datetime.time(hour)))


@pytest.fixture
def monday_morning(monkeypatch):
    """Next Monday, 09:00 Taipei: the morning session is on."""
    moment = _next_monday_at(9)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


@pytest.fixture
def patients(make_user, make_person):
    made = []
    for name in ("甲", "乙", "丙", "丁"):
        user = make_user(f"patient-{name}")
        made.append((user, make_person(user=user, name=f"病人{name}")))
    return made
