"""``rows_of``: the same rows as the queryset, with the same aware instants."""

import datetime

import pytest

from civicstack.core.models import AuditEvent, District
from civicstack.core.rows import rows_of
from civicstack.core.services import audit_record

pytestmark = pytest.mark.django_db


def test_the_same_rows_and_instants_as_django():
    district = District.objects.first()
    audit_record(actor=None, action="test.rows", obj=district, data={})
    queryset = AuditEvent.objects.filter(action="test.rows").values_list("id", "action", "created_at")
    assert rows_of(queryset) == list(queryset)
    (_id, _action, at), *_ = rows_of(queryset)
    assert at.tzinfo is not None and at.utcoffset() == datetime.timedelta(0)


def test_an_empty_any_of_and_other_querysets():
    assert rows_of(District.objects.filter(code__any_of=set()).values_list("id")) == []
    assert rows_of(District.objects.filter(pk=-1)) == []
