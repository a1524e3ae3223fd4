"""Fixtures of the fines tests: an item catalog in two agencies (the district offices of the
shared ``staff`` fixture), cases issued through the service, and companies' 統一編號."""

import datetime
import itertools

import pytest
from django.core.cache import cache

from civicstack.core import business_number
from civicstack.core.models import Agency
from civicstack.fines import services
from tests.conftest import district_office, new_identifier

_companies = itertools.count(1000001)


def new_business_number() -> str:
    prefix = f"{next(_companies):07d}"
    return prefix + business_number.check_digit_for(prefix)


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # The lookup throttle keeps its counts in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def agencies(districts) -> dict[str, Agency]:
    a, b = districts
    return {"a": district_office(a), "b": district_office(b)}


@pytest.fixture
def items(agencies):
    def make(agency, code, kind, amount, low=None, high=None, **extra):
        return services.item_create(
            actor=None, agency=agency, code=code, name=extra.pop("name", f"項目 {code}"), kind=kind,
            default_amount=amount, min_amount=low or amount, max_amount=high or amount,
            statute=extra.pop("statute", "廢棄物清理法"), article=extra.pop("article", "第50條"),
        )  # fmt: skip

    return {
        "fine_a": make(agencies["a"], "A-LITTER", "fine", 1200, 1200, 6000, name="亂丟菸蒂罰鍰"),
        "fee_a": make(
            agencies["a"], "A-CERT", "fee", 100, name="證明書規費", statute="規費法", article="第10條"
        ),
        "fine_b": make(agencies["b"], "B-LITTER", "fine", 1200, 1200, 6000, name="亂丟菸蒂罰鍰"),
    }


@pytest.fixture
def issue(items):
    """Issue a case through the service (as the system); returns (case, identifier)."""

    def make(item_key="fine_a", *, identifier=None, name="林志豪", amount=None, due_date=None, actor=None):
        identifier = identifier or new_identifier()
        case = services.case_issue(actor=actor, data=services.CaseInput(
            item=items[item_key], payer_identifier=identifier, payer_name=name, amount=amount,
            due_date=due_date,
        ))  # fmt: skip
        return case, identifier

    return make


@pytest.fixture
def yesterday():
    from django.utils import timezone

    return timezone.localdate() - datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Uploaded documents go to a throw-away folder, never the demo's var/media.
    settings.MEDIA_ROOT = tmp_path / "media"
