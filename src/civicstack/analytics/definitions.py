# ruff: noqa: S608 -- the chart SQL is the data this file ships; it runs only through the validated warehouse engine
"""Shipped dashboards (charts as data) and curated datasets; installed by services.definitions_install.

SQL conventions, so the same text runs on DuckDB, Trino and Spark SQL: plain tables, named
parameters :date_from, :date_to (dates) and :district (a district code, '' for all), ANSI
functions (CAST, EXTRACT, date_trunc, COALESCE, sqrt, cos, radians), intervals as INTERVAL '1' DAY.
"""

from django.utils.translation import gettext_lazy as _

ALL = ["date_from", "date_to", "district"]


def between(column: str, district: str = "district") -> str:
    return (
        f"{column} >= :date_from AND {column} < :date_to + INTERVAL '1' DAY"
        f" AND (:district = '' OR {district} = :district)"
    )


def on_days(column: str, district: str = "district") -> str:
    """For rollup tables, whose time column is already a date."""
    return f"{column} BETWEEN :date_from AND :date_to AND (:district = '' OR {district} = :district)"


def chart(slug, title, sql, spec, *, public=False, parameters=None):
    return {"slug": slug, "title": title, "sql": sql.strip(), "spec": spec, "is_public": public,
            "parameters": ALL if parameters is None else parameters}  # fmt: skip


# Headings for result columns in tables, legends and tooltips (a chart's spec may name its own in
# "labels"); a column not listed here is shown by its name.
COLUMN_LABELS = {
    "accidents": _("Accidents"), "beds": _("Beds"), "card_kind": _("Card type"), "cases": _("Cases"),
    "category": _("Category"), "channel": _("Channel"), "code": _("District code"),
    "complaints": _("Complaints"), "day": _("Day"), "district": _("District"), "factory": _("Factory"),
    "failed": _("Failed inspections"), "fares": _("Fares (NT$)"), "fault": _("Fault"), "faults": _("Faults"),
    "function": _("Card function"), "highest": _("Highest reading"), "hour": _("Hour"),
    "incident_type": _("Incident type"), "incidents": _("Incidents"), "inspections": _("Inspections"),
    "mean_repair_hours": _("Mean hours to repair"), "mean_sentiment": _("Mean sentiment"), "month": _("Month"),
    "name": _("District name"), "occupancy_percent": _("Occupancy (%)"),
    "per_million_vehicles": _("Accidents per million vehicles"), "per_week": _("Complaints per week"),
    "permit_id": _("Road-works permit"), "pm25": _("PM2.5 (μg/m³)"), "points": _("Welfare points"),
    "priority": _("Priority"), "reader": _("Reader"), "risk_score": _("Risk score"), "road": _("Road"),
    "station": _("Station"), "thousand_vehicles": _("Vehicles (thousands)"), "topic": _("Topic"),
    "uses": _("Uses"), "vehicles": _("Vehicles"), "last_inspected": _("Last inspected"),
    "contractor": _("Contractor"), "population": _("Population"), "fires": _("Fires"),
    "casualties": _("Casualties"), "last_reading": _("Last reading"), "posts": _("Posts"),
    "facilities": _("Facilities"),
}  # fmt: skip


DASHBOARDS = [
    {
        "slug": "traffic-safety", "title": _("Traffic safety hot spots"), "topic": _("Traffic"),
        "agency": "Department of Transportation", "public": False,
        "description": _("Where and when traffic accidents happen, against how many vehicles pass."),
        "method": _(
            "Accidents are the fire department's dispatches of type traffic accident in the period. Each road's "
            "accidents are set against the vehicles the eTag readers counted on that road in the same period: "
            "accidents per million vehicles. A road is a hot spot when it has at least three accidents and the "
            "highest rate; hours show when to place patrols and signals."
        ),
        "charts": [
            chart("accidents-by-hour", _("Accidents by hour of day"), f"""
SELECT EXTRACT(hour FROM reported_at) AS hour, count(*) AS accidents
FROM fire_reports WHERE incident_type = 'traffic_accident' AND {between('reported_at')}
GROUP BY 1 ORDER BY 1""", {"type": "bar", "x": "hour", "y": ["accidents"]}),
            chart("hot-spots", _("Hot spots: accidents per million vehicles"), f"""
WITH accidents AS (
  SELECT road, district, count(*) AS accidents FROM fire_reports
  WHERE incident_type = 'traffic_accident' AND road IS NOT NULL AND {between('reported_at')}
  GROUP BY road, district),
flows AS (
  SELECT road, district, sum(vehicles) AS vehicles FROM etag_flows WHERE {between('hour')} GROUP BY road, district)
SELECT a.road, d.name AS district, a.accidents, f.vehicles,
       round(a.accidents * 1000000.0 / f.vehicles, 2) AS per_million_vehicles
FROM accidents a JOIN flows f ON f.road = a.road AND f.district = a.district
JOIN districts d ON d.code = a.district
WHERE a.accidents >= 3 ORDER BY per_million_vehicles DESC LIMIT 15""",
                  {"type": "table", "x": "road", "y": ["accidents", "vehicles", "per_million_vehicles"]}),
            chart("accidents-by-district", _("Accidents by district"), """
SELECT d.code, d.name, count(r.incident_id) AS accidents FROM districts d
LEFT JOIN fire_reports r ON r.district = d.code AND r.incident_type = 'traffic_accident'
  AND r.reported_at >= :date_from AND r.reported_at < :date_to + INTERVAL '1' DAY
WHERE (:district = '' OR d.code = :district) GROUP BY d.code, d.name ORDER BY accidents DESC""",
                  {"type": "map", "x": "code", "label": "name", "y": ["accidents"]}),
            chart("daily-accidents", _("Accidents and eTag flow per day"), f"""
WITH a AS (SELECT CAST(reported_at AS DATE) AS day, count(*) AS accidents FROM fire_reports
           WHERE incident_type = 'traffic_accident' AND {between('reported_at')} GROUP BY 1),
     f AS (SELECT CAST(hour AS DATE) AS day, sum(vehicles) / 1000 AS thousand_vehicles FROM etag_flows
           WHERE {between('hour')} GROUP BY 1)
SELECT f.day, COALESCE(a.accidents, 0) AS accidents, f.thousand_vehicles FROM f LEFT JOIN a ON a.day = f.day
ORDER BY f.day""", {"type": "line", "x": "day", "y": ["accidents", "thousand_vehicles"]}),
        ],
    },
    {
        "slug": "food-factory-risk", "title": _("Food factory GHP/HACCP risk"), "topic": _("Food safety"),
        "agency": "Department of Public Health", "public": False,
        "description": _("Which food factories to inspect first, scored from their inspection history."),
        "method": _(
            "For each factory, from all its inspections up to the end of the period: score = 40 × the share of "
            "failed inspections + 8 × the mean number of GHP violations per inspection (at most 40) + 20 when the "
            "factory holds no HACCP certificate + up to 20 for time since the last inspection (1 point a month). "
            "Scores run from 0 to 100; the inspection data is visible to the health department only."
        ),
        "charts": [
            chart("risk-ranking", _("Factories by risk score"), """
WITH f AS (
  SELECT factory_id, max(factory_name) AS factory, max(district) AS district, max(category) AS category,
         count(*) AS inspections, avg(CASE WHEN passed THEN 0.0 ELSE 1.0 END) AS failed_share,
         avg(COALESCE(ghp_violations, 0)) AS violations, bool_or(COALESCE(haccp_certified, false)) AS haccp,
         max(inspected_on) AS last_inspected
  FROM food_inspections WHERE inspected_on < :date_to + INTERVAL '1' DAY AND (:district = '' OR district = :district)
  GROUP BY factory_id)
SELECT factory, d.name AS district, category, inspections, last_inspected,
       round(40 * failed_share + least(8 * violations, 40) + CASE WHEN haccp THEN 0 ELSE 20 END
             + least(date_diff('day', last_inspected, :date_to) / 30.0, 20), 1) AS risk_score
FROM f JOIN districts d ON d.code = f.district ORDER BY risk_score DESC LIMIT 25""",
                  {"type": "table", "x": "factory", "y": ["risk_score"]}, parameters=["date_to", "district"]),
            chart("failures-by-district", _("Failed inspections by district"), f"""
SELECT d.name AS district, sum(CASE WHEN passed THEN 0 ELSE 1 END) AS failed, count(*) AS inspections
FROM food_inspections i JOIN districts d ON d.code = i.district WHERE {between('inspected_on')}
GROUP BY d.name ORDER BY failed DESC""", {"type": "bar", "x": "district", "y": ["failed", "inspections"]}),
        ],
    },
    {
        "slug": "road-works-risk", "title": _("Road works complaint risk"), "topic": _("Public works"),
        "agency": "Department of Public Works", "public": False,
        "description": _("Road works that draw 1999 complaints, to supervise them before complaints pile up."),
        "method": _(
            "A complaint counts against a road work when it is a road, noise or traffic case received while the "
            "work was active and within 300 metres of it (equirectangular distance). Risk = complaints per week "
            "of active work in the period; the works with the highest rate are listed first."
        ),
        "charts": [
            chart("works-by-risk", _("Active road works by complaints per week"), """
WITH w AS (SELECT * FROM road_works WHERE starts_on <= :date_to AND ends_on >= :date_from
                                      AND (:district = '' OR district = :district)),
near AS (
  SELECT w.permit_id, count(c.case_id) AS complaints
  FROM w LEFT JOIN hotline_cases c ON c.category IN ('road', 'noise', 'traffic')
    AND CAST(c.received_at AS DATE) BETWEEN w.starts_on AND w.ends_on
    AND CAST(c.received_at AS DATE) BETWEEN :date_from AND :date_to
    AND 111320 * sqrt(power(c.lat - w.lat, 2) + power(cos(radians(25.0)) * (c.lon - w.lon), 2)) <= 300
  GROUP BY w.permit_id)
SELECT w.permit_id, w.road, d.name AS district, w.contractor, n.complaints,
       round(n.complaints * 7.0 / greatest(date_diff('day', greatest(w.starts_on, :date_from),
             least(w.ends_on, :date_to)) + 1, 1), 2) AS per_week
FROM w JOIN near n ON n.permit_id = w.permit_id JOIN districts d ON d.code = w.district
ORDER BY per_week DESC, complaints DESC LIMIT 20""", {"type": "table", "x": "permit_id", "y": ["complaints", "per_week"]}),
            chart("complaints-by-category", _("1999 cases by category"), f"""
SELECT category, count(*) AS cases FROM hotline_cases WHERE {between('received_at')} GROUP BY 1 ORDER BY 2 DESC""",
                  {"type": "bar", "x": "category", "y": ["cases"]}),
        ],
    },
    {
        "slug": "fire-prevention", "title": _("Fire-prevention outreach targets"), "topic": _("Fire safety"),
        "agency": "Fire Department", "public": False,
        "description": _("Districts where fire-prevention visits and smoke-alarm drives reach the most risk."),
        "method": _(
            "Residential fires in the period per 10,000 residents (population from the city profile), plus "
            "casualties weighted three times; the outreach priority ranks districts by that rate. The map and "
            "the monthly series show where and when fires happen."
        ),
        "charts": [
            chart("outreach-priority", _("Outreach priority by district"), """
WITH f AS (SELECT district, count(*) AS fires, sum(COALESCE(casualties, 0)) AS casualties FROM fire_reports
           WHERE incident_type = 'fire' AND building_type = 'residential'
             AND reported_at >= :date_from AND reported_at < :date_to + INTERVAL '1' DAY GROUP BY district)
SELECT d.code, d.name, d.population, COALESCE(f.fires, 0) AS fires, COALESCE(f.casualties, 0) AS casualties,
       round((COALESCE(f.fires, 0) + 3 * COALESCE(f.casualties, 0)) * 10000.0 / greatest(d.population, 1), 2)
         AS priority
FROM districts d LEFT JOIN f ON f.district = d.code WHERE (:district = '' OR d.code = :district)
ORDER BY priority DESC""", {"type": "map", "x": "code", "label": "name", "y": ["priority"]}),
            chart("fires-per-month", _("Fires per month"), f"""
SELECT date_trunc('month', reported_at) AS month, incident_type, count(*) AS incidents FROM fire_reports
WHERE incident_type IN ('fire', 'rescue', 'flood') AND {between('reported_at')} GROUP BY 1, 2 ORDER BY 1""",
                  {"type": "line", "x": "month", "y": ["incidents"], "series": "incident_type"}),
        ],
    },
    {
        "slug": "card-use", "title": _("Citizen card use"), "topic": _("Citizen card"),
        "agency": "Department of Information Technology", "public": False,
        "description": _("Daily uses by card type, function and district, and welfare-point spending."),
        "method": _(
            "Accepted card uses from the card module's taps, loaded incrementally into the warehouse; a use "
            "counts in the district of the reader where it happened. Welfare-point spending is the points paid "
            "for uses."
        ),
        "charts": [
            chart("uses-per-day", _("Uses per day by card type"), f"""
SELECT day, card_kind, sum(uses) AS uses FROM card_uses_daily
WHERE status = 'accepted' AND {on_days('day')} GROUP BY 1, 2 ORDER BY 1""",
                  {"type": "line", "x": "day", "y": ["uses"], "series": "card_kind"}, public=True),
            chart("district-function", _("Uses by district and function"), f"""
SELECT d.name AS district, u.function, sum(u.uses) AS uses FROM card_uses_daily u JOIN districts d ON d.code = u.district
WHERE u.status = 'accepted' AND {on_days('u.day', 'u.district')}
GROUP BY 1, 2 ORDER BY 1, 2""", {"type": "bar", "x": "district", "y": ["uses"], "series": "function"}),
            chart("top-readers", _("Busiest readers"), f"""
SELECT reader, function, sum(uses) AS uses, sum(fares) AS fares FROM card_uses_reader_daily
WHERE status = 'accepted' AND {on_days('day')} GROUP BY 1, 2 ORDER BY uses DESC LIMIT 20""",
                  {"type": "table", "x": "reader", "y": ["uses", "fares"]}),
            chart("points-per-month", _("Welfare points spent per month"), f"""
SELECT date_trunc('month', day) AS month, sum(points) AS points FROM card_uses_daily
WHERE status = 'accepted' AND points > 0 AND {on_days('day')} GROUP BY 1 ORDER BY 1""",
                  {"type": "bar", "x": "month", "y": ["points"]}, public=True),
        ],
    },
    {
        "slug": "city-operations", "title": _("City operations"), "topic": _("Operations"),
        "agency": "Research, Development and Evaluation Commission", "public": True,
        "description": _("The nine sources at a glance: cases, parking, air, water, lights, sentiment, care."),
        "method": _(
            "Each figure is a plain count or mean over the period and district chosen; the loads page shows when "
            "each source last arrived and what was rejected."
        ),
        "charts": [
            chart("cases-per-day", _("1999 and mailbox cases per day"), f"""
SELECT CAST(received_at AS DATE) AS day, channel, count(*) AS cases FROM hotline_cases
WHERE {between('received_at')} GROUP BY 1, 2 ORDER BY 1""",
                  {"type": "line", "x": "day", "y": ["cases"], "series": "channel"}, public=True),
            chart("parking-occupancy", _("Parking occupancy by district (%)"), f"""
SELECT d.name AS district, round(100.0 * sum(occupied) / sum(capacity), 1) AS occupancy_percent
FROM parking_occupancy p JOIN districts d ON d.code = p.district
WHERE {between('observed_at', 'p.district')} GROUP BY 1 ORDER BY 2 DESC""",
                  {"type": "bar", "x": "district", "y": ["occupancy_percent"]}, public=True),
            chart("pm25-daily", _("PM2.5 daily mean (μg/m³)"), f"""
SELECT CAST(measured_at AS DATE) AS day, round(avg(value), 1) AS pm25 FROM air_quality
WHERE quantity = 'pm25' AND {between('measured_at')} GROUP BY 1 ORDER BY 1""",
                  {"type": "line", "x": "day", "y": ["pm25"]}, public=True),
            chart("water-peaks", _("Highest water level per station (m)"), f"""
SELECT station, max(value) AS highest, max(measured_at) AS last_reading FROM water_levels
WHERE {between('measured_at')} GROUP BY 1 ORDER BY highest DESC LIMIT 15""",
                  {"type": "table", "x": "station", "y": ["highest"]}),
            chart("streetlight-repairs", _("Streetlight faults and mean repair hours"), f"""
SELECT fault, count(*) AS faults,
       round(avg(date_diff('minute', reported_at, repaired_at)) / 60.0, 1) AS mean_repair_hours
FROM streetlight_faults WHERE {between('reported_at')} GROUP BY 1 ORDER BY 2 DESC""",
                  {"type": "bar", "x": "fault", "y": ["faults", "mean_repair_hours"]}),
            chart("sentiment-topics", _("Social-media sentiment by topic"), f"""
SELECT topic, count(*) AS posts, round(avg(sentiment), 2) AS mean_sentiment FROM social_sentiment
WHERE {between('posted_at')} GROUP BY 1 ORDER BY posts DESC""",
                  {"type": "bar", "x": "topic", "y": ["mean_sentiment"]}, public=True),
            chart("medical-map", _("Hospital beds by district"), """
SELECT d.code, d.name, COALESCE(sum(m.beds), 0) AS beds, count(m.facility_id) AS facilities
FROM districts d LEFT JOIN medical_resources m ON m.district = d.code
WHERE (:district = '' OR d.code = :district) GROUP BY d.code, d.name ORDER BY beds DESC""",
                  {"type": "map", "x": "code", "label": "name", "y": ["beds"]}, public=True, parameters=["district"]),
        ],
    },
]  # fmt: skip


def _dataset(code, title, sql, agency, *, open_data=False):
    return {"code": code, "title": title, "sql": sql.strip(), "agency": agency, "open_data": open_data}


DAILY = "CAST({time} AS DATE) AS day"
# The report's 27 inter-agency APIs, as curated datasets: each a query over the warehouse with the
# same :date_from / :date_to / :district filters as the dashboards.
DATASETS = [
    _dataset("hotline-daily", _("1999 cases per day, district and category"), f"""
SELECT {DAILY.format(time='received_at')}, district, category, count(*) AS cases FROM hotline_cases
WHERE {between('received_at')} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""", "Research, Development and Evaluation Commission", open_data=True),
    _dataset("hotline-open-cases", _("Open 1999 cases"), f"""
SELECT case_id, channel, category, district, received_at, agency FROM hotline_cases
WHERE closed_at IS NULL AND {between('received_at')} ORDER BY received_at""", "Research, Development and Evaluation Commission"),
    _dataset("hotline-closing-time", _("1999 case closing hours by agency"), f"""
SELECT agency, count(*) AS cases, round(avg(date_diff('minute', received_at, closed_at)) / 60.0, 1) AS mean_hours
FROM hotline_cases WHERE closed_at IS NOT NULL AND {between('received_at')} GROUP BY 1 ORDER BY 1""", "Research, Development and Evaluation Commission", open_data=True),
    _dataset("parking-latest", _("Latest parking occupancy per lot"), f"""
SELECT lot_id, lot_name, district, max(observed_at) AS observed_at, arg_max(occupied, observed_at) AS occupied,
       max(capacity) AS capacity FROM parking_occupancy WHERE {between('observed_at')} GROUP BY 1, 2, 3 ORDER BY 1""", "Department of Transportation", open_data=True),
    _dataset("parking-hourly", _("Parking occupancy by hour of day"), f"""
SELECT district, EXTRACT(hour FROM observed_at) AS hour, round(100.0 * sum(occupied) / sum(capacity), 1) AS percent
FROM parking_occupancy WHERE {between('observed_at')} GROUP BY 1, 2 ORDER BY 1, 2""", "Department of Transportation", open_data=True),
    _dataset("etag-daily", _("eTag vehicles per road per day"), f"""
SELECT {DAILY.format(time='hour')}, road, district, sum(vehicles) AS vehicles, round(avg(avg_speed), 1) AS mean_speed
FROM etag_flows WHERE {between('hour')} GROUP BY 1, 2, 3 ORDER BY 1, 2""", "Department of Transportation", open_data=True),
    _dataset("etag-peak-hours", _("eTag peak hours per segment"), f"""
SELECT segment_id, road, EXTRACT(hour FROM hour) AS hour_of_day, round(avg(vehicles)) AS mean_vehicles
FROM etag_flows WHERE {between('hour')} GROUP BY 1, 2, 3 ORDER BY 1, 3""", "Department of Transportation"),
    _dataset("streetlight-faults", _("Streetlight faults"), f"""
SELECT fault_id, light_id, district, fault, reported_at, repaired_at FROM streetlight_faults
WHERE {between('reported_at')} ORDER BY reported_at""", "Department of Public Works"),
    _dataset("streetlight-open", _("Unrepaired streetlights"), f"""
SELECT light_id, district, fault, reported_at FROM streetlight_faults WHERE repaired_at IS NULL
AND {between('reported_at')} ORDER BY reported_at""", "Department of Public Works", open_data=True),
    _dataset("water-levels-hourly", _("Water level per station per hour"), f"""
SELECT station, district, date_trunc('hour', measured_at) AS hour, max(value) AS highest FROM water_levels
WHERE {between('measured_at')} GROUP BY 1, 2, 3 ORDER BY 1, 3""", "Department of Water Resources", open_data=True),
    _dataset("water-levels-latest", _("Latest water level per station"), f"""
SELECT station, district, max(measured_at) AS measured_at, arg_max(value, measured_at) AS value
FROM water_levels WHERE {between('measured_at')} GROUP BY 1, 2 ORDER BY 1""", "Department of Water Resources"),
    _dataset("air-quality-daily", _("Air quality daily means"), f"""
SELECT {DAILY.format(time='measured_at')}, district, quantity, round(avg(value), 1) AS mean FROM air_quality
WHERE {between('measured_at')} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""", "Department of Environmental Protection", open_data=True),
    _dataset("air-quality-hourly", _("Air quality hourly means per station"), f"""
SELECT station, quantity, date_trunc('hour', measured_at) AS hour, round(avg(value), 1) AS mean FROM air_quality
WHERE {between('measured_at')} GROUP BY 1, 2, 3 ORDER BY 1, 3""", "Department of Environmental Protection"),
    _dataset("fire-incidents", _("Fire and disaster incidents"), f"""
SELECT incident_id, incident_type, district, road, reported_at, casualties FROM fire_reports
WHERE {between('reported_at')} ORDER BY reported_at""", "Fire Department"),
    _dataset("fire-monthly", _("Fire and disaster incidents per month"), f"""
SELECT date_trunc('month', reported_at) AS month, district, incident_type, count(*) AS incidents FROM fire_reports
WHERE {between('reported_at')} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""", "Fire Department", open_data=True),
    _dataset("traffic-accidents", _("Traffic accidents by road and hour"), f"""
SELECT road, district, EXTRACT(hour FROM reported_at) AS hour, count(*) AS accidents FROM fire_reports
WHERE incident_type = 'traffic_accident' AND {between('reported_at')} GROUP BY 1, 2, 3 ORDER BY 4 DESC""", "Police Department"),
    _dataset("medical-resources", _("Medical resource locations"), """
SELECT facility_id, name, facility_type, district, lat, lon, beds FROM medical_resources
WHERE (:district = '' OR district = :district) ORDER BY facility_id""", "Department of Public Health", open_data=True),
    _dataset("medical-beds", _("Hospital beds per district"), """
SELECT district, facility_type, count(*) AS facilities, sum(COALESCE(beds, 0)) AS beds FROM medical_resources
WHERE (:district = '' OR district = :district) GROUP BY 1, 2 ORDER BY 1, 2""", "Department of Public Health", open_data=True),
    _dataset("sentiment-daily", _("Social-media sentiment per day and topic"), f"""
SELECT {DAILY.format(time='posted_at')}, topic, count(*) AS posts, round(avg(sentiment), 2) AS mean_sentiment
FROM social_sentiment WHERE {between('posted_at')} GROUP BY 1, 2 ORDER BY 1, 2""", "Department of Information"),
    _dataset("card-uses-daily", _("Card uses per day, card type and function"), f"""
SELECT day, card_kind, function, sum(uses) AS uses FROM card_uses_daily
WHERE status = 'accepted' AND {on_days('day')} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""", "Department of Information Technology", open_data=True),
    _dataset("card-uses-district", _("Card uses per district and function"), f"""
SELECT district, function, sum(uses) AS uses, sum(fares) AS fares FROM card_uses_daily
WHERE status = 'accepted' AND {on_days('day')} GROUP BY 1, 2 ORDER BY 1, 2""", "Department of Information Technology"),
    _dataset("card-points-monthly", _("Welfare points spent per month and district"), f"""
SELECT date_trunc('month', day) AS month, district, sum(points) AS points FROM card_uses_daily
WHERE status = 'accepted' AND {on_days('day')} GROUP BY 1, 2 ORDER BY 1, 2""", "Department of Social Welfare"),
    _dataset("card-readers", _("Card uses per reader"), f"""
SELECT reader, function, district, sum(uses) AS uses FROM card_uses_reader_daily WHERE {on_days('day')}
GROUP BY 1, 2, 3 ORDER BY uses DESC""", "Department of Information Technology"),
    _dataset("food-inspections", _("Food factory inspections"), f"""
SELECT inspection_id, factory_id, factory_name, district, category, inspected_on, passed, ghp_violations,
       haccp_certified FROM food_inspections WHERE {between('inspected_on')} ORDER BY inspected_on""", "Department of Public Health"),
    _dataset("road-works-active", _("Active road works"), """
SELECT permit_id, road, district, lat, lon, starts_on, ends_on, contractor FROM road_works
WHERE starts_on <= :date_to AND ends_on >= :date_from AND (:district = '' OR district = :district) ORDER BY starts_on""", "Department of Public Works", open_data=True),
    _dataset("road-works-complaints", _("1999 road complaints near road works"), """
SELECT w.permit_id, w.road, w.district, count(c.case_id) AS complaints FROM road_works w
LEFT JOIN hotline_cases c ON c.category IN ('road', 'noise', 'traffic')
 AND CAST(c.received_at AS DATE) BETWEEN w.starts_on AND w.ends_on
 AND 111320 * sqrt(power(c.lat - w.lat, 2) + power(cos(radians(25.0)) * (c.lon - w.lon), 2)) <= 300
WHERE w.starts_on <= :date_to AND w.ends_on >= :date_from AND (:district = '' OR w.district = :district)
GROUP BY 1, 2, 3 ORDER BY complaints DESC""", "Department of Public Works"),
    _dataset("district-population", _("Districts and population"), """
SELECT code, name, name_en, population FROM districts WHERE (:district = '' OR code = :district) ORDER BY code""", "Department of Civil Affairs", open_data=True),
]  # fmt: skip
