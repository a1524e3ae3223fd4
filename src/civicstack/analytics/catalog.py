"""The shipped source definitions: the nine sources of S17, plus the card module's uses and the
three feeds the four analyses also need (food inspections, road works, population comes from
core). Installed by ``services.sources_install``; staff may change schedules and options later.

Types are DuckDB's. ``required`` columns reject a row when empty. ``key`` is the source's natural
key, the columns that identify a row: a row repeating a key within one load is rejected as a
duplicate, and a row whose key the warehouse already holds for the source (an HTTP feed that
answers the last 24 hours on every pull, a file dropped twice) is skipped and counted as
"duplicates skipped" on its load.
"""

from django.utils.translation import gettext_lazy as _


def column(name: str, kind: str = "VARCHAR", required: bool = False) -> dict:
    return {"name": name, "type": kind, "required": required}


SOURCES = [
    {
        "code": "hotline", "name": _("1999 hotline and mayor's mailbox"), "kind": "file_csv", "table": "hotline_cases",
        "agency": "Research, Development and Evaluation Commission", "every_minutes": 60, "key": ["case_id"],
        "description": _("Citizen cases of the 1999 hotline and the mayor's mailbox, by category and place."),
        "schema": [column("case_id", required=True), column("channel"), column("category", required=True),
                   column("district", required=True), column("lat", "DOUBLE"), column("lon", "DOUBLE"),
                   column("agency"), column("received_at", "TIMESTAMP", True), column("closed_at", "TIMESTAMP")],
    },
    {
        "code": "parking", "name": _("Public parking occupancy"), "kind": "http", "table": "parking_occupancy",
        "agency": "Department of Transportation", "every_minutes": 15,
        "key": ["lot_id", "observed_at"],
        "description": _("Occupied spaces of the public parking lots, pulled from the operators' feed."),
        "schema": [column("lot_id", required=True), column("lot_name"), column("district", required=True),
                   column("observed_at", "TIMESTAMP", True), column("capacity", "INTEGER", True),
                   column("occupied", "INTEGER", True)],
    },
    {
        "code": "etag", "name": _("eTag segment flows"), "kind": "file_json", "table": "etag_flows",
        "agency": "Department of Transportation", "every_minutes": 60,
        "key": ["segment_id", "hour"],
        "description": _("Vehicles per hour and mean speed on road segments, from eTag readers."),
        "schema": [column("segment_id", required=True), column("road", required=True),
                   column("district", required=True), column("hour", "TIMESTAMP", True),
                   column("vehicles", "INTEGER", True), column("avg_speed", "DOUBLE")],
    },
    {
        "code": "streetlights", "name": _("Smart streetlight faults"), "kind": "file_xlsx",
        "table": "streetlight_faults", "agency": "Department of Public Works", "every_minutes": 1440,
        "key": ["fault_id"],
        "description": _("Faults reported by smart streetlights and when they were repaired."),
        "schema": [column("fault_id", required=True), column("light_id", required=True),
                   column("district", required=True), column("fault"), column("reported_at", "TIMESTAMP", True),
                   column("repaired_at", "TIMESTAMP")],
    },
    {
        "code": "water_levels", "name": _("Water-level stations"), "kind": "mqtt", "table": "water_levels",
        "agency": "Department of Water Resources", "every_minutes": 5, "options": {"kinds": ["water_level"]},
        "key": ["reading_id"],
        "description": _("Readings of the water-level stations, received over MQTT by the IoT module."),
        "schema": [column("reading_id", "BIGINT", True), column("station", required=True),
                   column("district", required=True), column("measured_at", "TIMESTAMP", True),
                   column("quantity"), column("value", "DOUBLE", True), column("unit")],
    },
    {
        "code": "air_quality", "name": _("Air quality"), "kind": "mqtt", "table": "air_quality",
        "agency": "Department of Environmental Protection", "every_minutes": 5, "key": ["reading_id"],
        "options": {"kinds": ["air_quality"]},
        "description": _("PM2.5, PM10 and ozone readings of the air-quality sensors, over MQTT."),
        "schema": [column("reading_id", "BIGINT", True), column("station", required=True),
                   column("district", required=True), column("measured_at", "TIMESTAMP", True),
                   column("quantity", required=True), column("value", "DOUBLE", True), column("unit")],
    },
    {
        "code": "fire_reports", "name": _("Fire and disaster reports"), "kind": "file_csv", "table": "fire_reports",
        "agency": "Fire Department", "every_minutes": 60, "key": ["incident_id"],
        "description": _("119 dispatches: fires, rescues, ambulance calls, traffic accidents, floods."),
        "schema": [column("incident_id", required=True), column("incident_type", required=True),
                   column("district", required=True), column("road"), column("lat", "DOUBLE"),
                   column("lon", "DOUBLE"), column("reported_at", "TIMESTAMP", True),
                   column("casualties", "INTEGER"), column("building_type")],
    },
    {
        "code": "medical", "name": _("Medical resource locations"), "kind": "file_json",
        "table": "medical_resources", "agency": "Department of Public Health", "every_minutes": 1440,
        "key": ["facility_id"],
        "description": _("Hospitals, clinics, pharmacies and public AEDs, with beds where known."),
        "schema": [column("facility_id", required=True), column("name", required=True),
                   column("facility_type", required=True), column("district", required=True),
                   column("lat", "DOUBLE"), column("lon", "DOUBLE"), column("beds", "INTEGER")],
    },
    {
        "code": "sentiment", "name": _("Social-media sentiment"), "kind": "http", "table": "social_sentiment",
        "agency": "Department of Information", "every_minutes": 60, "key": ["post_id"],
        "description": _("Public posts about city topics with a sentiment score from -1 to 1."),
        "schema": [column("post_id", required=True), column("platform"), column("topic", required=True),
                   column("district", required=True), column("posted_at", "TIMESTAMP", True),
                   column("sentiment", "DOUBLE", True)],
    },
    {
        "code": "card_uses", "name": _("Citizen card uses"), "kind": "module", "table": "card_uses",
        "agency": "Department of Information Technology", "every_minutes": 15, "options": {"module": "card"},
        "key": ["tap_id"],
        "description": _("Every accepted or refused card use, from the card module's taps."),
        "schema": [column("tap_id", "BIGINT", True), column("card_kind", required=True),
                   column("function", required=True), column("district", required=True), column("reader"),
                   column("tapped_at", "TIMESTAMP", True), column("fare", "INTEGER"),
                   column("points", "INTEGER"), column("status")],
    },
    {
        "code": "food_inspections", "name": _("Food factory inspections"), "kind": "file_csv",
        "table": "food_inspections", "agency": "Department of Public Health", "every_minutes": 1440,
        "key": ["inspection_id"], "restricted": True,
        "description": _("GHP and HACCP inspections of food factories (visible to the health department only)."),
        "schema": [column("inspection_id", required=True), column("factory_id", required=True),
                   column("factory_name"), column("district", required=True), column("category"),
                   column("inspected_on", "DATE", True), column("passed", "BOOLEAN", True),
                   column("ghp_violations", "INTEGER"), column("haccp_certified", "BOOLEAN")],
    },
    {
        "code": "road_works", "name": _("Road works permits"), "kind": "file_csv", "table": "road_works",
        "agency": "Department of Public Works", "every_minutes": 1440, "key": ["permit_id"],
        "description": _("Road excavation permits with place and dates."),
        "schema": [column("permit_id", required=True), column("road", required=True),
                   column("district", required=True), column("lat", "DOUBLE"), column("lon", "DOUBLE"),
                   column("starts_on", "DATE", True), column("ends_on", "DATE", True), column("contractor")],
    },
]  # fmt: skip


# Rollups: aggregates the loader writes with every batch of a source, beside its rows. Sums of
# sums stay exact across batches, so a query over a rollup adds them up again (sum(uses)); the
# card-use dashboards read these instead of one row per tap (docs/analytics.md, benchmarks).
# ``sql`` reads the batch's kept rows as ``batch``.
ROLLUPS = {
    "card_uses": [
        {
            "table": "card_uses_daily",
            "sql": "SELECT CAST(tapped_at AS DATE) AS day, card_kind, function, district, status, count(*) AS uses, "
            "sum(fare) AS fares, sum(points) AS points FROM batch GROUP BY 1, 2, 3, 4, 5",
            "schema": [column("day", "DATE"), column("card_kind"), column("function"), column("district"),
                       column("status"), column("uses", "BIGINT"), column("fares", "BIGINT"),
                       column("points", "BIGINT")],
        },
        {
            "table": "card_uses_reader_daily",
            "sql": "SELECT CAST(tapped_at AS DATE) AS day, reader, function, district, status, count(*) AS uses, "
            "sum(fare) AS fares FROM batch GROUP BY 1, 2, 3, 4, 5",
            "schema": [column("day", "DATE"), column("reader"), column("function"), column("district"),
                       column("status"), column("uses", "BIGINT"), column("fares", "BIGINT")],
        },
    ],
}  # fmt: skip
