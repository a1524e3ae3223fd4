"""City profiles: the shipped Taoyuan profile, idempotent loading, validation, another city's file."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from civicstack.core import city_profile
from civicstack.core.city_profile import (
    LoadSummary,
    city_profile_load,
    profile_path,
    read_profile,
    validate_profile,
)
from civicstack.core.errors import InvalidInput
from civicstack.core.models import Agency, AgencyContact, AuditEvent, District, Village

IT_DEPARTMENT = "TYC-L1-26"


def counts() -> tuple[int, int, int, int]:
    return (
        District.objects.count(),
        Village.objects.count(),
        Agency.objects.count(),
        AgencyContact.objects.count(),
    )


def write_json(path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


# --- the shipped profile ----------------------------------------------------------------------------


def test_the_taoyuan_profile_is_loaded(db):
    # given the test database, loaded once with the default profile (tests/conftest.py)
    # then it has Taoyuan's 13 districts and 504 villages
    assert District.objects.count() == 13
    assert Village.objects.count() == 504
    assert {d.name_zh for d in District.objects.all()} == {
        "桃園區", "中壢區", "平鎮區", "八德區", "楊梅區", "蘆竹區", "大溪區", "龍潭區", "龜山區", "大園區",
        "觀音區", "新屋區", "復興區",
    }  # fmt: skip
    assert all(District.objects.get(code=d.code).villages.exists() for d in District.objects.all())
    # and 101 agencies under one city government, with one district office per district
    assert Agency.objects.count() == 101
    government = Agency.objects.get(kind=Agency.Kind.CITY_GOVERNMENT)
    assert government.parent_id is None
    offices = Agency.objects.filter(kind=Agency.Kind.DISTRICT_OFFICE)
    assert offices.count() == 13
    assert sorted(o.district_id for o in offices) == sorted(District.objects.values_list("id", flat=True))
    assert Agency.objects.filter(kind=Agency.Kind.FIRST_LEVEL).count() == 31
    assert not Agency.objects.filter(kind=Agency.Kind.FIRST_LEVEL).exclude(parent=government).exists()
    # and the IT department with its 11 contacts, in the file's order
    it = Agency.objects.get(code=IT_DEPARTMENT)
    assert it.name_en == "Department of Information Technology"
    assert it.contacts.count() == 11
    assert list(it.contacts.values_list("sort_order", flat=True)) == list(range(11))
    assert AgencyContact.objects.count() == 11
    # and Taoyuan District Office serves 桃園區 and sits under the Department of Civil Affairs
    office = Agency.objects.get(code="TYC-DO-68000010")
    assert office.district.name_zh == "桃園區"
    assert office.parent.code == "TYC-L1-02"
    assert office.parent.name_en == "Department of Civil Affairs"


def test_loading_twice_is_idempotent(db):
    # given the profile already loaded
    before = counts()
    assert before == (13, 504, 101, 11)
    ids = dict(Agency.objects.values_list("code", "id"))
    # when it is loaded twice more
    first = city_profile_load()
    second = city_profile_load()
    # then both report the whole profile and nothing is added, duplicated or renumbered
    assert first == second == LoadSummary(districts=13, villages=504, agencies=101, contacts=11)
    assert counts() == before
    assert dict(Agency.objects.values_list("code", "id")) == ids
    assert Agency.objects.get(code=IT_DEPARTMENT).contacts.count() == 11
    # and each load is audited
    loads = AuditEvent.objects.filter(action="city_profile.loaded", object_id="taoyuan").order_by("-sequence")
    assert loads[0].data == {"districts": 13, "villages": 504, "agencies": 101, "contacts": 11}


def test_the_cli_loads_the_profile(db):
    # given the CLI verb, when it loads the shipped profile by name
    out = StringIO()
    call_command("load_city_profile", "taoyuan", stdout=out)
    # then it prints the summary and changes no counts
    assert (
        out.getvalue().strip() == "loaded taoyuan.json: 13 districts, 504 villages, 101 agencies, 11 contacts"
    )
    assert counts() == (13, 504, 101, 11)


def test_profile_path_resolves_names_and_paths(tmp_path, settings):
    assert profile_path("taoyuan") == city_profile.PROFILES_DIR / "taoyuan.json"
    assert profile_path(str(tmp_path / "x.json")) == tmp_path / "x.json"
    settings.CIVICSTACK_CITY = str(tmp_path / "y.json")
    assert profile_path() == tmp_path / "y.json"


# --- validation ---------------------------------------------------------------------------------------


def bad_profile() -> dict:
    return {
        "code": "badcity",
        "name_zh": "壞市",
        "districts": [
            {"code": "D1", "name_zh": "一區", "villages": [{"code": "V1", "name_zh": "一里"}]},
            {
                "code": "D1",
                "name_zh": "二區",
                "villages": [{"code": "V1", "name_zh": "重複里"}, {"code": "V3"}],
            },
            {"code": "D3"},
        ],
        "agencies": [
            {"code": "GOV", "name_zh": "市政府", "kind": "city_government"},
            {"code": "A1", "name_zh": "局", "kind": "ministry", "parent": "GOV"},
            {"code": "A1", "name_zh": "重複局", "kind": "first_level", "parent": "GOV"},
            {"code": "A2", "name_zh": "孤兒局", "kind": "first_level", "parent": "NOPE"},
            {"code": "A3", "name_zh": "區公所", "kind": "district_office", "parent": "GOV", "district": "D9"},
            {"code": "A4", "kind": "school"},
        ],
    }


def test_validate_profile_reports_every_error_at_once():
    # given a profile with many different mistakes
    # when validated
    with pytest.raises(InvalidInput) as caught:
        validate_profile(bad_profile())
    # then every mistake is listed, each naming its entry
    assert caught.value.message == "invalid city profile"
    assert caught.value.details == [
        "districts[1]: duplicate district code D1",
        "districts[1].villages[0]: duplicate village code V1",
        "districts[1].villages[1]: missing code or name_zh",
        "districts[2]: missing name_zh",
        "agencies[1] (A1): unknown kind 'ministry'",
        "agencies[2] (A1): duplicate agency code",
        "agencies[3] (A2): parent NOPE is not in the profile",
        "agencies[4] (A3): district D9 is not in the profile",
        "agencies[5] (A4): missing name_zh",
    ]


def test_validate_profile_reports_missing_top_level_keys():
    with pytest.raises(InvalidInput) as caught:
        validate_profile({"code": "x"})
    assert caught.value.details == [
        "missing top-level key 'name_zh'",
        "missing top-level key 'districts'",
        "missing top-level key 'agencies'",
    ]


def test_wrongly_shaped_entries_are_reported_not_crashed():
    # given a profile whose lists hold strings instead of objects
    profile = {"code": "x", "name_zh": "某市", "districts": ["桃園區"], "agencies": ["市政府"]}
    # when validated, then it is invalid input (a clear error), not an AttributeError traceback
    with pytest.raises(InvalidInput):
        validate_profile(profile)


def test_a_bad_file_is_refused_and_nothing_is_written(db, tmp_path):
    # given a profile file with mistakes
    path = tmp_path / "bad.json"
    write_json(path, bad_profile())
    before = counts()
    # when loaded through the CLI, then it fails listing every mistake, and writes nothing
    with pytest.raises(CommandError) as caught:
        call_command("load_city_profile", str(path))
    message = str(caught.value)
    assert message.startswith("invalid city profile\n")
    assert "  agencies[1] (A1): unknown kind 'ministry'" in message
    assert "  agencies[3] (A2): parent NOPE is not in the profile" in message
    assert "  districts[1]: duplicate district code D1" in message
    assert counts() == before
    assert not District.objects.filter(code__in=["D1", "D3"]).exists()


def test_unreadable_files_are_invalid_input(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(InvalidInput, match=r"city profile .*missing\.json not found"):
        read_profile(missing)
    broken = tmp_path / "broken.json"
    broken.write_text('{"code": "x",\n  "districts": [}', encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"broken\.json: invalid JSON at line 2"):
        read_profile(broken)


def test_an_agency_cycle_is_refused_and_rolled_back(db, tmp_path):
    # given a valid-looking profile whose two agencies are each other's parent
    path = tmp_path / "cycle.json"
    write_json(path, {
        "code": "cyclecity", "name_zh": "循環市",
        "districts": [{"code": "CY-01", "name_zh": "甲區"}],
        "agencies": [
            {"code": "CY-A", "name_zh": "甲", "kind": "first_level", "parent": "CY-B"},
            {"code": "CY-B", "name_zh": "乙", "kind": "first_level", "parent": "CY-A"},
        ],
    })  # fmt: skip
    before = counts()
    # when loaded, then it is refused naming the agencies, and the district is not half-written
    with pytest.raises(InvalidInput) as caught:
        city_profile_load(path=path)
    assert caught.value.message == "agency tree has a cycle"
    assert caught.value.details == ["CY-A", "CY-B"]
    assert counts() == before
    assert not District.objects.filter(code="CY-01").exists()


# --- another city -------------------------------------------------------------------------------------


def fictional_city() -> dict:
    # children listed before their parent on purpose: loading must order them itself
    return {
        "code": "lakeside",
        "name_zh": "湖濱市",
        "name_en": "Lakeside City",
        "districts": [
            {"code": "LK-01", "name_zh": "東湖區", "name_en": "Donghu", "postal_code": "999",
             "villages": [{"code": "LK-01-001", "name_zh": "湖光里"}, {"code": "LK-01-002", "name_zh": "柳岸里"}]},
            {"code": "LK-02", "name_zh": "西山區", "name_en": "Xishan", "indigenous_mountain": True,
             "villages": [{"code": "LK-02-001", "name_zh": "松林里"}]},
        ],
        "agencies": [
            {"code": "LK-DO-01", "name_zh": "東湖區公所", "name_en": "Donghu District Office",
             "kind": "district_office", "parent": "LK-GOV", "district": "LK-01", "phone": "09-1234567"},
            {"code": "LK-DO-02", "name_zh": "西山區公所", "kind": "district_office", "parent": "LK-GOV",
             "district": "LK-02",
             "contacts": [{"unit": "民政課", "title": "課長", "name": "王大明", "phone": "09-7654321"}]},
            {"code": "LK-GOV", "name_zh": "湖濱市政府", "name_en": "Lakeside City Government",
             "kind": "city_government"},
        ],
    }  # fmt: skip


def test_another_citys_profile_can_be_loaded(db, tmp_path):
    # given a fictional city's profile file, with Taoyuan already in the database
    path = tmp_path / "lakeside.json"
    write_json(path, fictional_city())
    before = counts()
    # when it is loaded by path
    summary = city_profile_load(path=path)
    # then its districts, villages and agencies are added alongside Taoyuan's
    assert summary == LoadSummary(districts=2, villages=3, agencies=3, contacts=1)
    assert counts() == (before[0] + 2, before[1] + 3, before[2] + 3, before[3] + 1)
    donghu = District.objects.get(code="LK-01")
    xishan = District.objects.get(code="LK-02")
    assert (donghu.name_zh, donghu.name_en, donghu.postal_code, donghu.indigenous_mountain) == (
        "東湖區", "Donghu", "999", False,
    )  # fmt: skip
    assert xishan.indigenous_mountain is True
    assert sorted(donghu.villages.values_list("code", flat=True)) == ["LK-01-001", "LK-01-002"]
    government = Agency.objects.get(code="LK-GOV")
    assert government.kind == Agency.Kind.CITY_GOVERNMENT
    office = Agency.objects.get(code="LK-DO-01")
    assert (office.parent_id, office.district_id, office.phone) == (government.pk, donghu.pk, "09-1234567")
    assert list(Agency.objects.get(code="LK-DO-02").contacts.values_list("unit", "title", "name")) == [
        ("民政課", "課長", "王大明")
    ]
    # and Taoyuan is untouched
    assert District.objects.exclude(code__startswith="LK-").count() == 13
    assert Agency.objects.get(code=IT_DEPARTMENT).contacts.count() == 11


def test_another_city_through_the_cli_and_a_reload_updates_names(db, tmp_path):
    # given the fictional city loaded through the CLI
    path = tmp_path / "lakeside.json"
    write_json(path, fictional_city())
    out = StringIO()
    call_command("load_city_profile", str(path), stdout=out)
    assert out.getvalue().strip() == "loaded lakeside.json: 2 districts, 3 villages, 3 agencies, 1 contacts"
    loaded = counts()
    # when a renamed village and agency are loaded again
    data = fictional_city()
    data["districts"][0]["villages"][0]["name_zh"] = "新湖光里"
    data["agencies"][0]["name_zh"] = "東湖區區公所"
    write_json(path, data)
    city_profile_load(path=path)
    # then names are updated in place, and nothing is added
    assert counts() == loaded
    assert Village.objects.get(code="LK-01-001").name_zh == "新湖光里"
    assert Agency.objects.get(code="LK-DO-01").name_zh == "東湖區區公所"
