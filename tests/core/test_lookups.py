"""``field__any_of``: the same rows as ``__in`` on every database (one array parameter on
PostgreSQL, an IN list elsewhere)."""

import pytest
from django.db import connection
from django.db.models import Q

from civicstack.core.models import District, Village

pytestmark = pytest.mark.django_db


def test_any_of_finds_the_same_rows_as_in():
    codes = list(District.objects.order_by("code").values_list("code", flat=True)[:3]) + ["no-such-code"]
    expected = set(District.objects.filter(code__in=codes).values_list("pk", flat=True))
    assert len(expected) == 3
    assert set(District.objects.filter(code__any_of=codes).values_list("pk", flat=True)) == expected


def test_any_of_on_a_relation_takes_ids():
    district = District.objects.filter(villages__isnull=False).first()
    villages = Village.objects.filter(district_id__any_of=[district.pk])
    assert villages.count() == Village.objects.filter(district=district).count() > 0


def test_an_empty_list_matches_nothing_and_leaves_an_or_intact():
    assert not District.objects.filter(code__any_of=[]).exists()
    first = District.objects.order_by("pk").first()
    assert list(District.objects.filter(Q(code__any_of=[]) | Q(pk=first.pk))) == [first]


def test_postgresql_gets_one_array_parameter():
    query = str(District.objects.filter(code__any_of=["a", "b", "c"]).query)
    if connection.vendor == "postgresql":
        assert "= ANY(" in query
    else:
        assert " IN (" in query


def test_empty_and_separator_holding_values_are_matched_exactly():
    district = District.objects.order_by("pk").first()
    District.objects.filter(pk=district.pk).update(name_en="")
    assert list(District.objects.filter(name_en__any_of=[""])) == [district]
    odd = "a\x1fb"
    District.objects.filter(pk=district.pk).update(name_en=odd)
    assert list(District.objects.filter(name_en__any_of=[odd, "x"])) == [district]
    assert not District.objects.filter(name_en__any_of=["a", "b"]).exists()


def test_integer_lists_and_relations():
    ids = set(District.objects.values_list("pk", flat=True)[:4])
    assert set(District.objects.filter(pk__any_of=ids).values_list("pk", flat=True)) == ids
    assert District.objects.filter(pk__any_of={-1}).count() == 0
    assert (
        Village.objects.filter(district_id__any_of=ids).count()
        == Village.objects.filter(district__in=ids).count()
    )
