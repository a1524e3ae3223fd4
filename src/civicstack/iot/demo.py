"""Demo stations and readings: water-level gauges on 南崁溪, 老街溪 and 大漢溪, an air-quality
station in every district and traffic-flow counters on the main roads, with readings every ten
minutes that follow daily patterns (rush hours, afternoon ozone-season PM2.5, small tides near
the river mouths) and a typhoon day (heavy rain upstream: the rivers rise past their warning
levels and fall back) whose tail leaves one gauge still above its warning level: one open alert.

Readings go through ``readings_ingest``, so validation, the tallies and the alert episodes are
the real ones. ``small``: 3 days; ``seed``: 7 days (the longest ingestion accepts) with four
traffic counters per district, then a rollup run.
"""

import datetime
import math
import random

from django.utils import timezone

from civicstack.core.models import Agency, District

from . import services
from .models import Station

STEP = datetime.timedelta(minutes=10)

# district name → (latitude, longitude) near its centre
DISTRICT_CENTRES = {
    "桃園區": (24.993, 121.301), "中壢區": (24.965, 121.225), "平鎮區": (24.946, 121.218),
    "八德區": (24.929, 121.284), "楊梅區": (24.908, 121.146), "蘆竹區": (25.045, 121.292),
    "大溪區": (24.880, 121.287), "龍潭區": (24.864, 121.216), "龜山區": (24.993, 121.338),
    "大園區": (25.064, 121.196), "觀音區": (25.033, 121.083), "新屋區": (24.972, 121.106),
    "復興區": (24.820, 121.352),
}  # fmt: skip

# (code, name, district, river, base level m, warning, alert, typhoon rise m, lag hours)
GAUGES = [
    ("WL-NK-01", "南崁溪 南崁橋", "蘆竹區", 1.2, 3.5, 4.5, 2.9, 3),
    ("WL-NK-02", "南崁溪 大興橋", "桃園區", 1.0, 3.2, 4.2, 2.6, 2),
    ("WL-NK-03", "南崁溪 兔子坑", "龜山區", 0.8, 2.8, 3.8, 2.2, 1),
    ("WL-LJ-01", "老街溪 中正橋", "中壢區", 1.1, 3.4, 4.4, 2.7, 2),
    ("WL-LJ-02", "老街溪 平鎮段", "平鎮區", 0.9, 3.0, 4.0, 2.0, 1),
    ("WL-LJ-03", "老街溪 出海口", "大園區", 1.5, 4.0, 5.0, 2.1, 4),
    ("WL-DH-01", "大漢溪 武嶺橋", "大溪區", 2.2, 6.0, 7.5, 4.6, 5),
    ("WL-DH-02", "大漢溪 三民", "復興區", 1.8, 5.0, 6.5, 3.9, 3),
]
ROADS = ["中正路", "中山路", "民族路", "環北路", "延平路", "介壽路", "中華路", "縣府路"]


def _agency(suffix: str) -> Agency:
    found = Agency.objects.filter(name_zh__endswith=suffix, kind=Agency.Kind.FIRST_LEVEL).first()
    return found or Agency.objects.filter(kind=Agency.Kind.CITY_GOVERNMENT).first()


def _place(district: District, rng: random.Random) -> tuple[float, float]:
    lat, lon = DISTRICT_CENTRES.get(district.name_zh, (24.99, 121.30))
    return round(lat + rng.uniform(-0.02, 0.02), 5), round(lon + rng.uniform(-0.02, 0.02), 5)


def register_stations(rng: random.Random, *, counters_per_district: int) -> list[Station]:
    districts = {d.name_zh: d for d in District.objects.all()}
    all_districts = list(districts.values())
    water, environment, transport = _agency("水務局"), _agency("環境保護局"), _agency("交通局")
    made = []
    for code, name, district_name, _base, warning, alert, _rise, _lag in GAUGES:
        district = districts.get(district_name, all_districts[0])
        made.append(services.station_register(
            actor=None, code=code, name=name, kind=Station.Kind.WATER_LEVEL, district=district, agency=water,
            quantities=[{"quantity": "water_level", "unit": "m", "valid_min": 0, "valid_max": 15,
                         "warning_level": warning, "alert_level": alert, "hysteresis": 0.2}],
            **dict(zip(("latitude", "longitude"), _place(district, rng), strict=True)),
        ))  # fmt: skip
    for n, district in enumerate(all_districts, start=1):
        made.append(services.station_register(
            actor=None, code=f"AQ-{n:02d}", name=f"{district.name_zh}空氣品質站", kind=Station.Kind.AIR_QUALITY,
            district=district, agency=environment,
            quantities=[{"quantity": "pm25", "unit": "µg/m³", "valid_min": 0, "valid_max": 500,
                         "warning_level": 54, "hysteresis": 5},
                        {"quantity": "temperature", "unit": "°C", "valid_min": -10, "valid_max": 45}],
            **dict(zip(("latitude", "longitude"), _place(district, rng), strict=True)),
        ))  # fmt: skip
        for k in range(counters_per_district):
            road = ROADS[(n + k) % len(ROADS)]
            made.append(services.station_register(
                actor=None, code=f"TF-{n:02d}-{k + 1}", name=f"{district.name_zh}{road}車流", kind=Station.Kind.TRAFFIC_FLOW,
                district=district, agency=transport,
                quantities=[{"quantity": "vehicles", "unit": "veh/10min", "valid_min": 0, "valid_max": 5000}],
                **dict(zip(("latitude", "longitude"), _place(district, rng), strict=True)),
            ))  # fmt: skip
    return made


def _typhoon(hours_from_peak: float, width: float = 5.0) -> float:
    return math.exp(-((hours_from_peak / width) ** 2))


def readings_for(stations: list[Station], *, start: datetime.datetime, end: datetime.datetime,
                 typhoon_peak: datetime.datetime, rng: random.Random):  # fmt: skip
    """Yield readings in time order, a batch per ten-minute step."""
    gauges = {g[0]: g for g in GAUGES}
    # the lowest gauge of 大漢溪 drains slowly: still above its warning level when the demo ends
    slow = "WL-DH-01"
    moment = start
    while moment <= end:
        local = timezone.localtime(moment)
        hour = local.hour + local.minute / 60
        weekday = local.weekday() < 5
        since_peak = (moment - typhoon_peak).total_seconds() / 3600
        batch = []
        for station in stations:
            at = moment.isoformat()
            if station.kind == Station.Kind.WATER_LEVEL:
                _code, _name, _district, base, _w, _a, rise, lag = gauges[station.code]
                tide = (
                    0.15 * math.sin(2 * math.pi * hour / 12.4) if station.district.name_zh == "大園區" else 0
                )
                surge = rise * _typhoon(since_peak - lag, width=6.0 if station.code != slow else 60.0)
                value = base + tide + surge + rng.gauss(0, 0.03)
                batch.append({"station": station.code, "quantity": "water_level", "value": round(max(value, 0), 2),
                              "unit": "m", "measured_at": at})  # fmt: skip
            elif station.kind == Station.Kind.AIR_QUALITY:
                daily = 8 * math.exp(-(((hour - 8.5) / 2.5) ** 2)) + 6 * math.exp(-(((hour - 19) / 3) ** 2))
                washed = 1 - 0.7 * _typhoon(since_peak, width=12)  # the rain washes the air
                industrial = 6 if station.district.name_zh in ("觀音區", "大園區") else 0
                pm25 = (14 + industrial + daily) * washed + rng.gauss(0, 2)
                temp = (
                    22
                    + 5 * math.sin(2 * math.pi * (hour - 9) / 24)
                    - 3 * _typhoon(since_peak, 10)
                    + rng.gauss(0, 0.3)
                )
                batch.append({"station": station.code, "quantity": "pm25", "value": round(max(pm25, 1), 1),
                              "unit": "µg/m³", "measured_at": at})  # fmt: skip
                batch.append({"station": station.code, "quantity": "temperature", "value": round(temp, 1),
                              "unit": "°C", "measured_at": at})  # fmt: skip
            else:
                rush = (
                    (math.exp(-(((hour - 8) / 1.2) ** 2)) + math.exp(-(((hour - 18) / 1.5) ** 2)))
                    if weekday
                    else 0.3
                )
                level_ = 40 + 260 * rush + 80 * math.sin(math.pi * max(0, hour - 6) / 17)
                quiet = 1 - 0.8 * _typhoon(since_peak, width=8)  # typhoon day off: empty roads
                vehicles = max(0, rng.gauss(level_ * quiet, 12))
                batch.append({"station": station.code, "quantity": "vehicles", "value": round(vehicles),
                              "unit": "veh/10min", "measured_at": at})  # fmt: skip
        yield batch
        moment += STEP


def generate(*, scale: str, seed: int = 2019, progress_factory=None) -> dict:
    if Station.objects.filter(code=GAUGES[0][0]).exists():
        return {"stations": Station.objects.count()}
    rng = random.Random(seed + 10)
    days = 3 if scale == "small" else 7
    stations = register_stations(rng, counters_per_district=1 if scale == "small" else 4)
    end = timezone.now().replace(second=0, microsecond=0) - datetime.timedelta(minutes=5)
    end -= datetime.timedelta(minutes=end.minute % 10)
    start = end - datetime.timedelta(days=days) + datetime.timedelta(hours=1)  # inside the ingest window
    typhoon_peak = end - datetime.timedelta(hours=30)
    buffered, totals = [], services.IngestResult()
    steps = int((end - start) / STEP) + 1
    bar = progress_factory(steps) if progress_factory and scale != "small" else None
    for batch in readings_for(stations, start=start, end=end, typhoon_peak=typhoon_peak, rng=rng):
        buffered.extend(batch)
        if bar:
            bar.update(1)
        if len(buffered) >= 5000:
            _add(totals, services.readings_ingest(readings=buffered, source="demo"))
            buffered = []
    if buffered:
        _add(totals, services.readings_ingest(readings=buffered, source="demo"))
    if bar:
        bar.close()
    services.readings_ingest(source="demo", readings=[  # a few of what real feeds send, for the quarantine page
        {"station": "WL-NK-01", "quantity": "water_level", "value": 1.3, "unit": "cm", "measured_at": end.isoformat()},
        {"station": "AQ-01", "quantity": "pm25", "value": -4, "unit": "µg/m³", "measured_at": end.isoformat()},
        {"station": "WL-XX-09", "quantity": "water_level", "value": 1.0, "unit": "m", "measured_at": end.isoformat()},
    ])  # fmt: skip
    rollup = services.rollup_run() if scale != "small" else None
    return {"stations": len(stations), "readings": totals.accepted, "alerts_opened": totals.alerts_opened,
            "hourly_rollups": rollup.hourly if rollup else 0}  # fmt: skip


def _add(totals: services.IngestResult, result: services.IngestResult) -> None:
    totals.accepted += result.accepted
    totals.alerts_opened += result.alerts_opened
