"""Demo data of the analytics module: realistic files for every source, dropped where the
connectors look for them and loaded through them (so the loads pages show real histories,
including a few rejected rows and one schema drift), then the card module's taps and the IoT
module's readings loaded incrementally.

Patterns: hours (morning and evening peaks), weekdays against weekends, districts weighted by
population (復興區 small and rural), a typhoon day 12 days ago (floods, rescues, fallen-light
faults, drainage cases, negative sentiment, empty car parks), a few accident-prone roads and
a few road-works contractors who draw complaints.

``small``: 45 days, a few tens of thousands of rows, seconds. ``seed``: a year, about two
million rows.
"""

import datetime
import json
import math
import random
from pathlib import Path

from django.utils import timezone

from civicstack.core.city_profile import profile_path, read_profile
from civicstack.core.models import District

from . import connectors, services
from .models import Source

SCALES = {"small": {"days": 35, "cases": 60, "lots": 24, "factories": 120, "works": 40},
          "seed": {"days": 365, "cases": 900, "lots": 80, "factories": 1500, "works": 400}}  # fmt: skip
TYPHOON_DAYS_AGO = 12
HOUR_WEIGHTS = [1, 0.6, 0.4, 0.3, 0.4, 0.8, 2, 4, 6, 6, 5, 5, 5, 5, 5, 5, 6, 7, 6, 5, 4, 3, 2, 1.5]
HOTLINE_CATEGORIES = [("road", 24), ("streetlight", 14), ("noise", 14), ("parking", 16), ("drainage", 8),
                      ("traffic", 10), ("environment", 9), ("other", 5)]  # fmt: skip
HOTLINE_AGENCY = {"road": "工務局", "streetlight": "工務局", "noise": "環保局", "parking": "交通局", "drainage": "水務局",
                  "traffic": "交通局", "environment": "環保局", "other": "研考會"}  # fmt: skip
TOPICS = ["交通", "停車", "空氣品質", "治安", "市政服務", "颱風", "觀光"]
CONTRACTORS = ["宏泰營造", "大同工程", "永興土木", "慶豐營造", "信義工程", "東昇營造"]
NOISY_CONTRACTORS = {"永興土木", "東昇營造"}
FAULTS = ["lamp_out", "flicker", "controller_offline", "pole_damage"]
FOOD_CATEGORIES = ["烘焙炊蒸", "乳品加工", "水產加工", "肉品加工", "餐盒", "飲料"]


class City:
    """Districts with weights, centroids and streets, from the city profile and the boundary file."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        profile = {row["code"]: row for row in read_profile(profile_path())["districts"]}
        self.codes = list(District.objects.order_by("code").values_list("code", flat=True))
        self.weights = [profile.get(code, {}).get("population_approx", 50_000) for code in self.codes]
        self.streets = {
            code: profile.get(code, {}).get("streets") or ["中正路", "中山路"] for code in self.codes
        }
        boundaries = json.loads(
            (Path(__file__).parent / "data" / "taoyuan-districts.geojson").read_text("utf-8")
        )
        self.centre = {}
        for feature in boundaries["features"]:
            points = list(_points(feature["geometry"]["coordinates"]))
            self.centre[feature["properties"]["code"]] = (
                sum(p[1] for p in points) / len(points), sum(p[0] for p in points) / len(points))  # fmt: skip

    def district(self) -> str:
        return self.rng.choices(self.codes, weights=self.weights)[0]

    def place(self, code: str, spread: float = 0.02) -> tuple[float, float]:
        lat, lon = self.centre.get(code, (24.95, 121.2))
        return round(lat + self.rng.uniform(-spread, spread), 5), round(
            lon + self.rng.uniform(-spread, spread), 5
        )

    def road(self, code: str) -> str:
        return self.rng.choice(self.streets[code])


def _points(coordinates):
    if coordinates and isinstance(coordinates[0], (int, float)):
        yield coordinates
    else:
        for item in coordinates:
            yield from _points(item)


def _moment(rng: random.Random, day: datetime.date, weights=HOUR_WEIGHTS) -> datetime.datetime:
    hour = rng.choices(range(24), weights=weights)[0]
    return datetime.datetime.combine(day, datetime.time(hour, rng.randrange(60), rng.randrange(60)))


def _day_factor(day: datetime.date, typhoon: datetime.date, *, weekend: float, storm: float) -> float:
    factor = weekend if day.weekday() >= 5 else 1.0
    return factor * (storm if day == typhoon else 1.0)


def _write_csv(folder: Path, name: str, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    connectors.write_rows(rows, folder / name)


def _write_json(folder: Path, name: str, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(rows, ensure_ascii=False, default=str), "utf-8")
    return path


def _days(today: datetime.date, count: int) -> list[datetime.date]:
    return [today - datetime.timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def generate(*, scale: str, seed: int, progress_factory=None) -> dict:
    if Source.objects.exists() and Source.objects.filter(loads__isnull=False).exists() and scale == "small":
        # Loaded before: only pull what the modules added since (cursors make this incremental).
        loads = [load for source in Source.objects.filter(kind__in=["module", "mqtt"])
                 for load in services.source_load(actor=None, source=source)]  # fmt: skip
        return {"loads": len(loads)}
    sizes = SCALES[scale]
    rng = random.Random(seed + 17)
    city = City(rng)
    services.definitions_install(actor=None)
    sources = {source.code: source for source in Source.objects.all()}
    today = timezone.localdate()
    typhoon = today - datetime.timedelta(days=TYPHOON_DAYS_AGO)
    # Whole days up to yesterday: the loader refuses rows from the future.
    days = _days(today - datetime.timedelta(days=1), sizes["days"])
    drop = {code: connectors.drop_dir(source) for code, source in sources.items()}
    counts = {}

    # Road works first: complaints cluster around them.
    works = []
    for number in range(sizes["works"]):
        code = city.district()
        starts = today - datetime.timedelta(days=rng.randint(0, sizes["days"]))
        lat, lon = city.place(code)
        works.append({"permit_id": f"RW{today.year}{number:05d}", "road": city.road(code), "district": code,
                      "lat": lat, "lon": lon, "starts_on": starts,
                      "ends_on": starts + datetime.timedelta(days=rng.randint(5, 60)),
                      "contractor": rng.choice(CONTRACTORS)})  # fmt: skip
    _write_csv(drop["road_works"], "road-works.csv", works)
    counts["road_works"] = len(works)

    # 1999 hotline and mayor's mailbox, with complaints near active works.
    cases = []
    for day in days:
        volume = int(sizes["cases"] * _day_factor(day, typhoon, weekend=0.6, storm=3.5))
        for _ in range(volume):
            code = city.district()
            category = rng.choices(
                [c for c, _ in HOTLINE_CATEGORIES], weights=[w for _, w in HOTLINE_CATEGORIES]
            )[0]
            if day == typhoon and rng.random() < 0.5:
                category = rng.choice(["drainage", "road", "streetlight"])
            lat, lon = city.place(code)
            cases.append(_case(rng, len(cases), day, code, category, lat, lon))
        for work in works:
            if work["starts_on"] <= day <= work["ends_on"]:
                expected = 0.9 if work["contractor"] in NOISY_CONTRACTORS else 0.15
                for _ in range(int(expected * 2 * rng.random() + (1 if rng.random() < expected else 0))):
                    cases.append(_case(rng, len(cases), day, work["district"], rng.choice(["road", "noise", "traffic"]),
                                       work["lat"] + rng.uniform(-0.002, 0.002), work["lon"] + rng.uniform(-0.002, 0.002)))  # fmt: skip
    # A few rows an operator would send by mistake: they are rejected and counted, not dropped.
    cases.append({**cases[0], "case_id": "BAD-1", "district": "99999999"})
    cases.append({**cases[1], "case_id": "BAD-2", "received_at": "昨天下午"})
    cases.append(dict(cases[-3]))  # a duplicate case id
    half = len(cases) // 2
    _write_csv(drop["hotline"], "hotline-1.csv", cases[half:])
    _write_csv(drop["hotline"], "hotline-2.csv", cases[:half])
    counts["hotline"] = len(cases)

    # Parking occupancy (an HTTP feed; the demo serves it from a file URL).
    lots = [(f"P{n:03d}", city.district()) for n in range(sizes["lots"])]
    parking = []
    for day in days:
        for hour in range(7, 24, 2 if scale == "small" else 1):
            for lot_id, code in lots:
                capacity = 80 + (int(lot_id[1:]) * 37) % 400
                load = (
                    HOUR_WEIGHTS[hour]
                    / 7
                    * (1.15 if day.weekday() >= 5 else 1.0)
                    * (0.3 if day == typhoon else 1)
                )
                occupied = max(0, min(capacity, int(capacity * min(load, 1.0) * rng.uniform(0.75, 1.05))))
                parking.append({"lot_id": lot_id, "lot_name": f"{city.road(code)}公有停車場", "district": code,
                                "observed_at": datetime.datetime.combine(day, datetime.time(hour)),
                                "capacity": capacity, "occupied": occupied})  # fmt: skip
    feed = _write_json(drop["parking"], "feed.json", parking)
    _set_url(sources["parking"], feed)
    counts["parking"] = len(parking)

    # eTag flows: a few segments per district, hourly; some roads carry more and crash more.
    segments = []
    for code, weight in zip(city.codes, city.weights, strict=True):
        for road in city.streets[code][:3]:
            segments.append(
                (f"SEG-{code[-3:]}-{len(segments):03d}", road, code, weight / 200_000 + rng.uniform(0.2, 0.6))
            )
    flows = []
    for day in days:
        storm = 0.35 if day == typhoon else 1.0
        for segment_id, road, code, size in segments:
            for hour in range(24):
                vehicles = int(900 * size * HOUR_WEIGHTS[hour] / 6 * storm * rng.uniform(0.85, 1.15))
                flows.append({"segment_id": segment_id, "road": road, "district": code,
                              "hour": datetime.datetime.combine(day, datetime.time(hour)), "vehicles": vehicles,
                              "avg_speed": round(max(8.0, 55 - vehicles / 60 + rng.uniform(-5, 5)), 1)})  # fmt: skip
    _write_json(drop["etag"], "etag-flows.json", flows)
    counts["etag"] = len(flows)

    # Fire department dispatches, traffic accidents concentrated on a few roads.
    risky = {segment[1] for segment in rng.sample(segments, k=max(3, len(segments) // 8))}
    incidents = []
    for day in days:
        for _segment_id, road, code, size in segments:
            rate = 0.12 * size * (3.0 if road in risky else 1.0) * (1.5 if day == typhoon else 1.0)
            for _ in range(_poisson(rng, rate)):
                incidents.append(_incident(rng, len(incidents), day, "traffic_accident", code, road, city))
        for _ in range(_poisson(rng, 6 * _day_factor(day, typhoon, weekend=1.0, storm=1.0))):
            code = city.district()
            kind = rng.choices(["fire", "rescue", "ambulance"], weights=[2, 2, 8])[0]
            incidents.append(_incident(rng, len(incidents), day, kind, code, city.road(code), city))
        if day == typhoon:
            for _ in range(40):
                code = city.district()
                incidents.append(_incident(rng, len(incidents), day, rng.choice(["flood", "rescue"]), code,
                                           city.road(code), city))  # fmt: skip
    _write_csv(drop["fire_reports"], "dispatches.csv", incidents)
    counts["fire_reports"] = len(incidents)

    # Streetlight faults (XLSX from the maintenance contractor); the typhoon knocks many out.
    faults = []
    for day in days:
        for _ in range(_poisson(rng, 5 if day != typhoon else 120)):
            code = city.district()
            reported = _moment(rng, day)
            repaired = reported + datetime.timedelta(hours=rng.uniform(2, 96)) if rng.random() < 0.9 else None
            faults.append({"fault_id": f"SL{len(faults):06d}", "light_id": f"L{code[-3:]}{rng.randrange(5000):04d}",
                           "district": code, "fault": rng.choice(FAULTS), "reported_at": reported,
                           "repaired_at": repaired if repaired and repaired.date() <= today else None})  # fmt: skip
    _write_xlsx(drop["streetlights"], "faults.xlsx", faults)
    counts["streetlights"] = len(faults)

    # Medical resources; the second file has a renamed column, which the load reports as drift.
    facilities = []
    for number in range(60 if scale == "small" else 900):
        code = city.district()
        kind = rng.choices(["hospital", "clinic", "pharmacy", "aed"], weights=[1, 8, 6, 5])[0]
        lat, lon = city.place(code)
        facilities.append({"facility_id": f"M{number:05d}", "name": f"{city.road(code)}{_facility_name(kind)}",
                           "facility_type": kind, "district": code, "lat": lat, "lon": lon,
                           "beds": rng.randint(80, 900) if kind == "hospital" else None})  # fmt: skip
    _write_json(drop["medical"], "facilities-1.json", facilities[:-5])
    _write_json(
        drop["medical"],
        "facilities-2.json",
        [
            {**{k: v for k, v in row.items() if k != "beds"}, "bed_count": row["beds"]}
            for row in facilities[-5:]
        ],
    )
    counts["medical"] = len(facilities)

    # Social-media sentiment (HTTP feed), negative around the typhoon.
    posts = []
    for day in days:
        for _ in range(int(sizes["cases"] * 0.8)):
            topic = "颱風" if day == typhoon and rng.random() < 0.6 else rng.choice(TOPICS)
            mood = -0.45 if topic == "颱風" else {"停車": -0.2, "交通": -0.15, "觀光": 0.35}.get(topic, 0.05)
            posts.append({"post_id": f"S{len(posts):07d}", "platform": rng.choice(["facebook", "ptt", "dcard", "line"]),
                          "topic": topic, "district": city.district(), "posted_at": _moment(rng, day),
                          "sentiment": round(max(-1, min(1, rng.gauss(mood, 0.35))), 2)})  # fmt: skip
    feed = _write_json(drop["sentiment"], "posts.json", posts)
    _set_url(sources["sentiment"], feed)
    counts["sentiment"] = len(posts)

    # Food factory inspections over three years; each factory has a hidden carefulness.
    inspections = []
    for number in range(sizes["factories"]):
        code = city.district()
        careful = rng.betavariate(5, 2)
        haccp = rng.random() < 0.35
        for _ in range(rng.randint(1, 6)):
            inspected = today - datetime.timedelta(days=rng.randint(0, 3 * 365))
            violations = _poisson(rng, (1 - careful) * 4)
            inspections.append({"inspection_id": f"FI{len(inspections):06d}", "factory_id": f"F{number:05d}",
                                "factory_name": f"{city.road(code)}{rng.choice(FOOD_CATEGORIES)}食品廠", "district": code,
                                "category": rng.choice(FOOD_CATEGORIES), "inspected_on": inspected,
                                "passed": violations < 3, "ghp_violations": violations, "haccp_certified": haccp})  # fmt: skip
    _write_csv(drop["food_inspections"], "inspections.csv", inspections)
    counts["food_inspections"] = len(inspections)

    loads = []
    for source in sorted(sources.values(), key=lambda s: s.code):
        loads += services.source_load(actor=None, source=source)
    return {"rows_generated": counts, "loads": len(loads),
            "rows_loaded": sum(load.rows_loaded for load in loads),
            "rows_rejected": sum(load.rows_rejected for load in loads)}  # fmt: skip


def _case(rng, number, day, code, category, lat, lon) -> dict:
    received = _moment(rng, day)
    closed = received + datetime.timedelta(hours=rng.uniform(1, 120)) if rng.random() < 0.85 else None
    return {"case_id": f"C{day:%y%m%d}{number:07d}", "channel": "mailbox" if rng.random() < 0.15 else "1999",
            "category": category, "district": code, "lat": round(lat, 5), "lon": round(lon, 5),
            "agency": HOTLINE_AGENCY[category], "received_at": received,
            "closed_at": closed if closed and closed.date() <= timezone.localdate() else None}  # fmt: skip


def _incident(rng, number, day, kind, code, road, city) -> dict:
    lat, lon = city.place(code)
    weights = HOUR_WEIGHTS if kind == "traffic_accident" else [3] * 6 + [2] * 12 + [4] * 6
    return {"incident_id": f"F{day:%y%m%d}{number:06d}", "incident_type": kind, "district": code, "road": road,
            "lat": lat, "lon": lon, "reported_at": _moment(rng, day, weights),
            "casualties": _poisson(rng, 0.4 if kind in ("fire", "traffic_accident") else 0.1),
            "building_type": rng.choice(["residential", "residential", "commercial", "factory"]) if kind == "fire" else ""}  # fmt: skip


def _facility_name(kind: str) -> str:
    return {"hospital": "醫院", "clinic": "診所", "pharmacy": "藥局", "aed": "AED設置點"}[kind]


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method; the means here are small.
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _set_url(source: Source, path: Path) -> None:
    source.options = {**source.options, "url": path.resolve().as_uri()}
    source.save(update_fields=["options"])


def _write_xlsx(folder: Path, name: str, rows: list[dict]) -> None:
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    columns = list(rows[0]) if rows else ["fault_id"]
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(column) for column in columns])
    book.save(folder / name)
