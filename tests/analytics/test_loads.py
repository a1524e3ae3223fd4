"""Connectors and the loader: file drops (CSV, JSON, XLSX), HTTP pull over a real socket, bad rows
rejected with reasons and counted, schema drift reported, loads history, incremental files."""

import datetime
import io
import json

import duckdb
import pytest
from django.utils import timezone
from openpyxl import Workbook

from civicstack.analytics import services, warehouse
from civicstack.analytics.models import Load
from civicstack.core.errors import PermissionDenied

from .conftest import Feed, district_codes, fire_csv, load_now

YESTERDAY = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()


def rows_in_warehouse(table: str, where: str = "true") -> list[tuple]:
    files = warehouse.table_files(table)
    if not files:
        return []
    return duckdb.sql(f"SELECT * FROM read_parquet({files!r}) WHERE {where} ORDER BY 1").fetchall()  # noqa: S608


def test_a_csv_drop_is_typed_checked_and_appended_with_bad_rows_counted_by_reason(sources, drop):
    a, b = district_codes()[:2]
    drop("fire_reports", "day.csv", fire_csv([
        ("F1", "fire", a, "中正路", f"{YESTERDAY} 08:10", 0),
        ("F2", "traffic_accident", b, "中山路", f"{YESTERDAY} 09:00", 1),
        ("F3", "fire", "12345678", "中正路", f"{YESTERDAY} 10:00", 0),  # no such district
        ("F4", "fire", a, "中正路", "yesterday at ten", 0),  # not a time
        ("F5", "fire", a, "中正路", f"{YESTERDAY} 11:00", "two"),  # not a number
        ("F6", "", a, "中正路", f"{YESTERDAY} 12:00", 0),  # a required value missing
        ("F1", "fire", a, "中正路", f"{YESTERDAY} 13:00", 0),  # the same incident twice
        ("F7", "fire", a, "中正路", "2999-01-01 00:00", 0),  # from the future
    ]))  # fmt: skip

    [load] = load_now(sources["fire_reports"])

    assert (load.status, load.rows_in, load.rows_loaded, load.rows_rejected) == ("partial", 8, 2, 6)
    assert load.rejected_by_reason == {
        "unknown district": 1, "invalid reported_at (timestamp)": 1, "invalid casualties (integer)": 1,
        "missing incident_type": 1, "duplicate incident_id": 1, "future reported_at": 1,
    }  # fmt: skip
    assert [sample["line"] for sample in load.rejected_samples] == [3, 4, 5, 6, 7, 8]
    assert json.loads(load.rejected_samples[0]["row"])["district"] == "12345678"
    stored = rows_in_warehouse("fire_reports")
    assert [(row[0], row[1], row[7]) for row in stored] == [("F1", "fire", 0), ("F2", "traffic_accident", 1)]
    assert load.quality["casualties"]["max"] == "1" and load.quality["incident_id"]["null_percent"] == 0
    # Loaded once: the file moved to done/ and the next run finds nothing new.
    assert load_now(sources["fire_reports"]) == []
    assert len(rows_in_warehouse("fire_reports")) == 2


def test_schema_drift_is_reported_new_missing_and_retyped_columns(sources, drop):
    a = district_codes()[0]
    drop("road_works", "renamed.csv", (
        "permit_id,road,district,latitude,lon,starts_on,ends_on,contractor\n"
        f"RW1,中正路,{a},24.9,121.3,2026-01-05,2026-01-20,宏泰營造\n"
    ))  # fmt: skip
    drop("food_inspections", "retyped.csv", (
        "inspection_id,factory_id,factory_name,district,category,inspected_on,passed,ghp_violations,haccp_certified\n"
        f"I1,F1,甲廠,{a},餐盒,last week,true,none,false\nI2,F1,甲廠,{a},餐盒,soon,false,many,false\n"
    ))  # fmt: skip

    [works] = load_now(sources["road_works"])
    [food] = load_now(sources["food_inspections"])

    assert works.drift == {"new": ["latitude"], "missing": ["lat"], "retyped": []} and works.has_drift
    assert works.rows_loaded == 1  # lat is optional: the row is kept without it
    assert food.drift["retyped"] == [
        {"column": "inspected_on", "declared": "DATE", "found": "VARCHAR"},
        {"column": "ghp_violations", "declared": "INTEGER", "found": "VARCHAR"},
    ]
    assert food.rows_rejected == 2 and food.rejected_by_reason == {"invalid inspected_on (date)": 2}


def test_json_and_xlsx_drops(sources, drop):
    a = district_codes()[0]
    facilities = [{"facility_id": "M1", "name": "中壢醫院", "facility_type": "hospital", "district": a,
                   "lat": 24.95, "lon": 121.22, "beds": 420}]  # fmt: skip
    drop("medical", "facilities.json", json.dumps({"rows": facilities}, ensure_ascii=False))
    book = Workbook()
    book.active.append(["fault_id", "light_id", "district", "fault", "reported_at", "repaired_at"])
    book.active.append(["SL1", "L001", a, "lamp_out", datetime.datetime(2026, 1, 3, 20, 15), None])
    buffer = io.BytesIO()
    book.save(buffer)
    drop("streetlights", "faults.xlsx", buffer.getvalue())

    [medical] = load_now(sources["medical"])
    [lights] = load_now(sources["streetlights"])

    assert (medical.status, medical.rows_loaded) == ("ok", 1)
    assert rows_in_warehouse("medical_resources")[0][-1] == 420
    assert (lights.status, lights.rows_loaded) == ("ok", 1)
    assert rows_in_warehouse("streetlight_faults")[0][4] == datetime.datetime(2026, 1, 3, 20, 15)


def test_http_pull_over_a_real_socket_and_a_failed_pull_is_recorded(sources, feed_server):
    a = district_codes()[0]
    Feed.body = json.dumps([
        {"lot_id": "P001", "lot_name": "站前", "district": a, "observed_at": f"{YESTERDAY}T08:00:00",
         "capacity": 200, "occupied": 150},
        {"lot_id": "P002", "lot_name": "市場", "district": a, "observed_at": f"{YESTERDAY}T08:00:00",
         "capacity": "lots", "occupied": 10},
    ]).encode()  # fmt: skip
    parking = sources["parking"]
    parking.options = {"url": f"http://127.0.0.1:{feed_server.server_address[1]}/occupancy"}
    parking.save(update_fields=["options"])

    [load] = load_now(parking)
    assert (load.rows_loaded, load.rejected_by_reason) == (1, {"invalid capacity (integer)": 1})
    assert load.origin.endswith("/occupancy")

    parking.options = {"url": "http://127.0.0.1:9/closed"}
    parking.save(update_fields=["options"])
    [failed] = load_now(parking)
    assert failed.status == Load.Status.FAILED and "closed" in failed.error
    parking.refresh_from_db()
    assert parking.next_load_at > timezone.now()


def test_only_due_sources_load_and_only_staff_may_load(sources, drop, citizen):
    load_now(sources["hotline"])  # schedules the next hour
    drop("hotline", "late.csv", "case_id,category,district,received_at\n")
    drop("fire_reports", "empty.csv", fire_csv([]))
    due = services.sources_load_due(actor=None)
    assert "hotline" not in {load.source.code for load in due}
    assert any(load.source.code == "fire_reports" and load.status == "empty" for load in due)
    user, _person = citizen
    with pytest.raises(PermissionDenied):
        services.source_load(actor=user, source=sources["medical"])


def test_the_sources_pages_show_loads_rejections_and_drift_to_staff_only(
    sources, drop, staff, citizen, client_for
):
    a = district_codes()[0]
    drop(
        "road_works",
        "w.csv",
        f"permit_id,road,district,latitude,starts_on,ends_on\nRW1,中正路,{a},24.9,2026-01-05,soon\n",
    )
    load_now(sources["road_works"])
    client = client_for(staff["clerk_a"])
    listing = client.get("/analytics/sources/").content.decode()
    detail = client.get("/analytics/sources/road_works/").content.decode()
    assert "Road works permits" in listing and "Drift" in listing
    assert "invalid ends_on (date): 1" in detail and "new columns latitude" in detail
    assert client_for(citizen[0]).get("/analytics/sources/").status_code == 403
    assert client_for(staff["city_admin"]).get("/staff/analytics/load/").status_code in (200, 302)
