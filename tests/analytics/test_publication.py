"""Atomic publication and natural keys: a load's rows appear only when its Load row commits, a
rolled-back or interrupted load is settled by the next one, and rows a source re-delivers (an
overlapping HTTP re-pull, a file dropped twice) are skipped and counted, never stored twice."""

import datetime
import json
from pathlib import Path

import pytest
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from civicstack.analytics import services, warehouse
from civicstack.analytics.models import Load

from .conftest import Feed, district_codes, fire_csv, load_now
from .test_loads import rows_in_warehouse

YESTERDAY = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()


class Interrupted(Exception):
    pass


def fires(a: str, b: str, ids: list[str]) -> str:
    return fire_csv(
        [(i, "fire", a if n % 2 else b, "中正路", f"{YESTERDAY} 08:{n:02d}", 0) for n, i in enumerate(ids)]
    )


def test_a_rolled_back_load_leaves_no_visible_rows_and_the_retry_loads_them_once(sources, drop, settings):
    a, b = district_codes()[:2]
    dropped = drop("fire_reports", "day.csv", fires(a, b, ["F1", "F2", "F3"]))

    # Given a load whose transaction rolls back after the rows were written (here: an error
    # raised by the caller's transaction; in production a failed audit write or a lost database)
    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        with pytest.raises(Interrupted), transaction.atomic():
            [load] = services.source_load(actor=None, source=sources["fire_reports"])
            assert load.rows_loaded == 3
            raise Interrupted

    # then readers see nothing, no Load records it, and the dropped file waits to be loaded again
    assert callbacks == []
    assert rows_in_warehouse("fire_reports") == [] and not Load.objects.exists()
    assert dropped.exists()
    [orphan] = warehouse.pending_parts("fire_reports")
    assert orphan.name.endswith(".parquet.pending")
    engine = warehouse.connect(
        [warehouse.TableSpec("fire_reports", [("incident_id", "VARCHAR")])], [], warehouse.EVERYONE
    )
    assert engine.execute("SELECT count(*) FROM fire_reports").fetchone() == (0,)

    # When the load is retried, the orphan is swept and the rows are stored once.
    [retry] = load_now(sources["fire_reports"])
    assert (retry.rows_loaded, retry.duplicates_skipped) == (3, 0)
    assert sorted(row[0] for row in rows_in_warehouse("fire_reports")) == ["F1", "F2", "F3"]
    assert not orphan.exists() and warehouse.pending_parts("fire_reports") == []
    assert (Path(settings.ANALYTICS_DROP_DIR) / "fire_reports" / "done" / "day.csv").exists()


def test_a_load_that_committed_but_died_before_publishing_is_published_by_the_next(sources, drop):
    a, b = district_codes()[:2]
    drop("hotline", "cases.csv", (
        "case_id,channel,category,district,received_at\n"
        f"C1,phone,road,{a},{YESTERDAY} 09:00\nC2,phone,noise,{b},{YESTERDAY} 10:00\n"
    ))  # fmt: skip

    # Given a committed load (the test's transaction stands for the commit) whose on-commit step
    # never ran: the process died between the commit and the rename.
    [first] = services.source_load(actor=None, source=sources["hotline"])
    assert first.rows_loaded == 2 and rows_in_warehouse("hotline_cases") == []

    # When the next load runs, it publishes the part its Load row records; the dropped file, which
    # had not moved to done/ either, comes again and its rows are skipped as already loaded.
    [second] = load_now(sources["hotline"])
    assert sorted(row[0] for row in rows_in_warehouse("hotline_cases")) == ["C1", "C2"]
    assert (second.rows_in, second.rows_loaded, second.duplicates_skipped, second.status) == (2, 0, 2, "ok")
    assert warehouse.pending_parts("hotline_cases") == []


def test_an_overlapping_http_re_pull_stores_only_the_new_rows_and_says_how_many_it_skipped(
    sources,
    feed_server,
    staff,
    client_for,
):
    a = district_codes()[0]

    def hours(*numbers):
        return json.dumps([
            {"lot_id": lot, "lot_name": "站前", "district": a, "observed_at": f"{YESTERDAY}T{hour:02d}:00:00",
             "capacity": 200, "occupied": 100 + hour}
            for hour in numbers for lot in ("P001", "P002")
        ]).encode()  # fmt: skip

    parking = sources["parking"]
    assert parking.natural_key == ["lot_id", "observed_at"]
    parking.options = {"url": f"http://127.0.0.1:{feed_server.server_address[1]}/occupancy"}
    parking.save(update_fields=["options"])

    Feed.body = hours(8, 9, 10)
    [first] = load_now(parking)
    # the feed answers its window again, moved on by one hour: two hours overlap
    Feed.body = hours(9, 10, 11)
    [second] = load_now(parking)

    assert (first.rows_loaded, first.duplicates_skipped) == (6, 0)
    assert (second.rows_in, second.rows_loaded, second.rows_rejected, second.duplicates_skipped) == (
        6,
        2,
        0,
        4,
    )
    assert second.status == Load.Status.OK  # skipping what is already stored is not a rejection
    stored = rows_in_warehouse("parking_occupancy")
    assert len(stored) == 8 and len({(row[0], row[3]) for row in stored}) == 8
    # the rows kept from the second pull are hour 11's
    assert sorted(row[3].hour for row in stored).count(11) == 2

    page = client_for(staff["clerk_a"]).get("/analytics/sources/parking/").content.decode()
    assert "4 duplicates skipped (already in the warehouse)" in page and "lot_id, observed_at" in page
    api = client_for(staff["clerk_a"]).get("/api/v1/analytics/sources/parking/loads").json()
    assert [item["duplicates_skipped"] for item in api["items"]][:2] == [4, 0]


def test_files_of_one_run_are_checked_against_each_other(sources, drop):
    a, b = district_codes()[:2]
    drop("fire_reports", "1-monday.csv", fires(a, b, ["F1", "F2"]))
    drop("fire_reports", "2-monday-again.csv", fires(a, b, ["F1", "F2", "F3"]))  # re-exported with one more

    first, second = load_now(sources["fire_reports"])

    assert (first.rows_loaded, second.rows_loaded, second.duplicates_skipped) == (2, 1, 2)
    assert sorted(row[0] for row in rows_in_warehouse("fire_reports")) == ["F1", "F2", "F3"]
