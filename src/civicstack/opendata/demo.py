"""Demo data of the open data module: the city's datasets with real-looking resources.

``small``: about three dozen datasets of a dozen agencies (traffic, public bikes, parking, water
levels, lodging, medical, factory emissions, thefts...), each with CSV, JSON or GeoJSON files
generated here and published through the services (parsed, loaded into the datastore, audited),
one of them a Big5 CSV as older agency exports are; usage figures for the past year.

``seed``: the report's 1,381 datasets (S08) bulk-inserted with linked resources, plus one
datastore table of 1,000,000 rows (parking occupancy readings) for the benchmarks, with a
progress bar; monthly usage near the report's 21,562 views, 383,603 downloads and 1,069,132
API calls, and ~97% of datasets at 3 stars or more.
"""

import csv
import datetime
import io
import json
import random
import uuid

from django.db import transaction
from django.utils import timezone

from civicstack.core.models import Agency, District

from . import response_cache, services
from .models import Dataset, DatastoreRow, Group, Resource, Tag, UsageMonthly
from .quality import resource_stars

SEED_DATASETS = 1_381
SEED_BIG_TABLE_ROWS = 1_000_000
BATCH = 5_000
# Taoyuan's bounding box, for coordinates.
WEST, EAST, SOUTH, NORTH = 121.02, 121.45, 24.78, 25.10

GROUPS = [
    ("transport", "交通運輸", "Transport"), ("environment", "環境品質", "Environment"),
    ("health", "醫療衛生", "Health"), ("tourism", "觀光休閒", "Tourism"), ("safety", "公共安全", "Public safety"),
    ("water", "水利防災", "Water and disaster prevention"), ("society", "社會福利", "Social welfare"),
    ("education", "教育文化", "Education and culture"),
]  # fmt: skip


def _point(rng):
    return round(rng.uniform(WEST, EAST), 6), round(rng.uniform(SOUTH, NORTH), 6)


def _districts() -> list[str]:
    return list(District.objects.order_by("sort_order", "code").values_list("name_zh", flat=True)) or [
        "桃園區"
    ]


# Each theme: agency name, group, category, frequency, tags, title, fields text, row maker, format.
def _parking(rng, districts, i):
    lon, lat = _point(rng)
    total = rng.randint(40, 600)
    return {"停車場名稱": f"{rng.choice(districts)}第{i}公有停車場", "行政區": rng.choice(districts),
            "地址": f"{rng.choice(districts)}{rng.choice(['中正路', '中山路', '民生路', '復興路'])}{rng.randint(1, 400)}號",
            "總車位數": total, "剩餘車位數": rng.randint(0, total), "收費標準": f"每小時{rng.choice([20, 30, 40])}元",
            "經度": lon, "緯度": lat}  # fmt: skip


def _bikes(rng, districts, i):
    lon, lat = _point(rng)
    capacity = rng.randint(10, 60)
    return {"站點代號": f"2{i:04d}", "站點名稱": f"YouBike2.0_{rng.choice(districts)}{rng.choice(['國小', '公園', '市場', '車站'])}{i}",
            "行政區": rng.choice(districts), "總停車格": capacity, "可借車輛": rng.randint(0, capacity),
            "經度": lon, "緯度": lat}  # fmt: skip


def _water(rng, districts, i):
    return {"測站名稱": f"{rng.choice(['南崁溪', '老街溪', '新街溪', '大漢溪', '社子溪'])}{rng.choice(['上游', '中游', '下游'])}站",
            "觀測時間": (timezone.localtime() - datetime.timedelta(minutes=10 * i)).strftime("%Y-%m-%d %H:%M"),
            "水位(公尺)": round(rng.uniform(0.5, 4.5), 2), "警戒水位(公尺)": 5.0, "行政區": rng.choice(districts)}  # fmt: skip


def _lodging(rng, districts, i):
    return {"旅宿名稱": f"{rng.choice(['桃園', '青埔', '大溪', '石門', '中壢'])}{rng.choice(['大飯店', '商旅', '民宿', '旅館'])}{i}",
            "類別": rng.choice(["旅館業", "民宿", "觀光旅館"]), "行政區": rng.choice(districts),
            "房間數": rng.randint(4, 300), "電話": f"03-{rng.randint(2000000, 4999999)}"}  # fmt: skip


def _medical(rng, districts, i):
    return {"機構名稱": f"{rng.choice(['仁愛', '長庚', '敏盛', '聯新', '天成', '安心'])}{rng.choice(['診所', '醫院', '牙醫診所', '中醫診所'])}{i}",
            "類別": rng.choice(["西醫診所", "牙醫診所", "中醫診所", "醫院"]), "行政區": rng.choice(districts),
            "地址": f"{rng.choice(districts)}{rng.choice(['中正路', '中山路', '民族路'])}{rng.randint(1, 500)}號",
            "電話": f"03-{rng.randint(2000000, 4999999)}"}  # fmt: skip


def _emissions(rng, districts, i):
    return {"工廠名稱": f"{rng.choice(['台', '桃', '華', '永'])}{rng.choice(['塑', '電', '鋼', '化'])}工業股份有限公司{i}廠",
            "行政區": rng.choice(districts), "污染物": rng.choice(["粒狀污染物", "硫氧化物", "氮氧化物", "揮發性有機物"]),
            "年排放量(公噸)": round(rng.uniform(0.5, 900), 1), "年度": rng.choice([2017, 2018])}  # fmt: skip


def _theft(rng, districts, i):
    return {"案類": rng.choice(["住宅竊盜", "汽車竊盜", "機車竊盜", "自行車竊盜"]),
            "發生日期": (datetime.date(2018, 1, 1) + datetime.timedelta(days=rng.randint(0, 364))).isoformat(),
            "發生時段": rng.choice(["00~02", "08~10", "14~16", "20~22"]), "行政區": rng.choice(districts),
            "發生地點": f"{rng.choice(districts)}{rng.choice(['中正路', '中山路', '延平路'])}{rng.randint(1, 300)}號附近"}  # fmt: skip


def _accidents(rng, districts, i):
    return {"月份": f"2018-{(i % 12) + 1:02d}", "行政區": districts[i % len(districts)],
            "事故件數": rng.randint(80, 900), "死亡人數": rng.randint(0, 9), "受傷人數": rng.randint(90, 1200)}  # fmt: skip


def _schools(rng, districts, i):
    return {"學校名稱": f"桃園市立{rng.choice(districts).rstrip('區')}{rng.choice(['國民小學', '國民中學'])}{i}",
            "行政區": rng.choice(districts), "班級數": rng.randint(6, 90), "學生數": rng.randint(80, 2800)}  # fmt: skip


THEMES = [
    ("交通局", "transport", "交通及通訊", "realtime", ["停車", "即時"], "路外公有停車場即時剩餘車位", _parking, "GeoJSON"),
    ("交通局", "transport", "交通及通訊", "realtime", ["公共自行車", "YouBike"], "公共自行車租賃站即時資訊", _bikes, "GeoJSON"),
    ("交通局", "transport", "交通及通訊", "monthly", ["交通事故"], "各行政區交通事故統計", _accidents, "CSV"),
    ("水務局", "water", "生活安全及品質", "realtime", ["水位", "防災"], "區域排水即時水位", _water, "JSON"),
    ("觀光旅遊局", "tourism", "休閒旅遊", "monthly", ["旅宿", "觀光"], "合法旅宿業者名冊", _lodging, "CSV"),
    ("衛生局", "health", "就醫", "monthly", ["醫療院所"], "醫療院所名冊", _medical, "CSV"),
    ("環境保護局", "environment", "生活安全及品質", "yearly", ["空氣污染", "工廠"], "固定污染源排放量", _emissions, "CSV"),
    ("警察局", "safety", "生活安全及品質", "monthly", ["竊盜"], "竊盜案件發生地點", _theft, "CSV"),
    ("教育局", "education", "求學及進修", "yearly", ["學校"], "各級學校班級數及學生數", _schools, "JSON"),
]  # fmt: skip


def _to_csv(rows: list[dict], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def _to_geojson(rows: list[dict]) -> bytes:
    features = []
    for row in rows:
        properties = {k: v for k, v in row.items() if k not in ("經度", "緯度")}
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [row["經度"], row["緯度"]]},
                         "properties": properties})  # fmt: skip
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def _agency(name_part: str, fallback: Agency) -> Agency:
    return Agency.objects.filter(name_zh__endswith=name_part).first() or fallback


def ensure_groups() -> dict[str, Group]:
    for name, title, title_en in GROUPS:
        Group.objects.get_or_create(name=name, defaults={"title": title, "title_en": title_en})
    return {group.name: group for group in Group.objects.all()}


def _generate_small(seed: int) -> int:
    rng = random.Random(seed)
    districts = _districts()
    city = Agency.objects.get(kind=Agency.Kind.CITY_GOVERNMENT)
    ensure_groups()
    created = 0
    for round_index, district_set in enumerate((None, "北區", "南區", "年報")):
        for theme_index, (agency_part, group, category, frequency, tags, title, maker, fmt) in enumerate(
            THEMES
        ):
            agency = _agency(agency_part, city)
            suffix = "" if district_set is None else f"（{district_set}）"
            name = f"tyc-{theme_index + 1:02d}-{round_index + 1}"
            if Dataset.objects.filter(name=name).exists():
                continue
            rows = [maker(rng, districts, i) for i in range(1, rng.randint(25, 160))]
            dataset = services.dataset_create(
                actor=None, state=Dataset.State.PUBLIC,
                data=services.DatasetInput(
                    title=f"桃園市{title}{suffix}", agency=agency, name=name, category=category,
                    notes=f"桃園市政府{agency.name_zh.removeprefix('桃園市政府')}提供之{title}資料，欄位包含{'、'.join(rows[0])}。",
                    field_description="、".join(rows[0]), update_frequency=frequency, tags=tags, groups=[group],
                    contact_name=rng.choice(["林承翰", "陳怡君", "黃志豪", "張雅婷"]),
                    contact_phone=f"03-332{rng.randint(2000, 9999)}", contact_email="opendata@tycg.gov.tw",
                    published_on=datetime.date(2016, 1, 1) + datetime.timedelta(days=rng.randint(0, 1000)),
                ),
            )  # fmt: skip
            if fmt == "GeoJSON":
                services.resource_upload(actor=None, dataset=dataset, filename=f"{name}.geojson",
                                         content=_to_geojson(rows), name=f"{title} GeoJSON")  # fmt: skip
                services.resource_upload(actor=None, dataset=dataset, filename=f"{name}.csv",
                                         content=_to_csv(rows), name=f"{title} CSV")  # fmt: skip
            elif fmt == "JSON":
                services.resource_upload(actor=None, dataset=dataset, filename=f"{name}.json",
                                         content=json.dumps(rows, ensure_ascii=False).encode(), name=f"{title} JSON")  # fmt: skip
            else:
                encoding = "cp950" if (theme_index, round_index) == (4, 1) else "utf-8"  # one Big5 export
                services.resource_upload(actor=None, dataset=dataset, filename=f"{name}.csv",
                                         content=_to_csv(rows, encoding), name=f"{title} CSV")  # fmt: skip
            created += 1
    created += _internal_parking(city)
    _usage_history(rng, monthly_views=900, monthly_downloads=4_000, monthly_api=12_000)
    return created


def _internal_parking(city: Agency) -> int:
    """The card module's parking lots, published live and refreshed every hour."""
    keys = {source.key for source in services.internal_sources()}
    if "card.parking_lots" not in keys or Dataset.objects.filter(name="tyc-parking-live").exists():
        return 0
    if len(services._internal_export("card.parking_lots").splitlines()) < 2:
        return 0  # the card module has no parking lots loaded
    dataset = services.dataset_create(
        actor=None, state=Dataset.State.DRAFT,
        data=services.DatasetInput(
            title="桃園市公有路外停車場即時剩餘車位（市民卡資料）", agency=_agency("交通局", city), name="tyc-parking-live",
            category="交通及通訊", update_frequency="realtime", tags=["停車", "即時"], groups=["transport"],
            notes="由市民卡「附近服務」之停車場資料每小時自動更新。",
        ),
    )  # fmt: skip
    services.resource_from_internal(actor=None, dataset=dataset, key="card.parking_lots")
    services.dataset_set_state(actor=None, dataset=dataset, state=Dataset.State.PUBLIC)
    return 1


def _usage_history(
    rng, *, monthly_views: int, monthly_downloads: int, monthly_api: int, months: int = 12
) -> None:
    datasets = list(Dataset.objects.filter(state=Dataset.State.PUBLIC).values_list("id", flat=True))
    if not datasets or UsageMonthly.objects.exists():
        return
    weights = [rng.paretovariate(1.2) for _ in datasets]
    total_weight = sum(weights)
    today = timezone.localdate().replace(day=1)
    rows = []
    for back in range(months):
        year, month = today.year, today.month - back
        while month < 1:
            year, month = year - 1, month + 12
        first = datetime.date(year, month, 1)
        for dataset_id, weight in zip(datasets, weights, strict=True):
            share = weight / total_weight
            rows.append(UsageMonthly(
                dataset_id=dataset_id, month=first, views=int(monthly_views * share * rng.uniform(0.8, 1.2)),
                downloads=int(monthly_downloads * share * rng.uniform(0.8, 1.2)),
                api_calls=int(monthly_api * share * rng.uniform(0.8, 1.2)),
            ))  # fmt: skip
    UsageMonthly.objects.bulk_create(rows, batch_size=BATCH)


SEED_TOPICS = [
    ("交通局", "交通及通訊", ["路外停車場資訊", "公車站位", "公共自行車站點", "交通事故統計", "違規停車拖吊", "號誌化路口", "計程車招呼站"]),
    ("水務局", "生活安全及品質", ["即時水位", "雨量站觀測", "抽水站", "滯洪池", "污水下水道接管"]),
    ("觀光旅遊局", "休閒旅遊", ["旅宿業名冊", "觀光景點", "自行車道", "觀光工廠", "遊客人次統計"]),
    ("衛生局", "就醫", ["醫療院所", "藥局", "疫苗接種站", "餐飲衛生稽查", "長照服務據點"]),
    ("環境保護局", "生活安全及品質", ["工廠空氣污染排放", "垃圾車清運點", "資源回收", "空氣品質監測", "噪音陳情"]),
    ("警察局", "生活安全及品質", ["竊盜案件發生地點", "交通違規舉發", "監視器位置", "派出所"]),
    ("教育局", "求學及進修", ["學校名錄", "班級數及學生數", "公共圖書館", "課後照顧班"]),
    ("社會局", "老年安養", ["社區關懷據點", "托嬰中心", "身心障礙福利機構", "老人福利機構"]),
    ("經濟發展局", "開創事業", ["公司登記", "工廠登記", "市場攤位", "商業登記"]),
    ("消防局", "生活安全及品質", ["消防栓位置", "火災統計", "救護車出勤", "避難處所"]),
    ("地政局", "購屋及遷徙", ["實價登錄", "地價公告", "重劃區"]),
    ("民政局", "公共資訊", ["人口統計", "里辦公處", "殯葬設施"]),
]  # fmt: skip


def _generate_seed(*, seed: int, progress_factory=None, big_table_rows: int = SEED_BIG_TABLE_ROWS) -> int:
    rng = random.Random(seed)
    districts = _districts()
    city = Agency.objects.get(kind=Agency.Kind.CITY_GOVERNMENT)
    groups = ensure_groups()
    existing = Dataset.objects.count()
    to_make = max(0, SEED_DATASETS - existing)
    now = timezone.now()
    bar = progress_factory(to_make + big_table_rows) if progress_factory else None
    if bar is not None and hasattr(bar, "set_description"):
        bar.set_description("open data")
    tags = {}
    for _agency_part, _category, topics in SEED_TOPICS:
        for topic in topics:
            tags[topic] = Tag.objects.get_or_create(name=topic)[0]
    group_for = {"交通及通訊": "transport", "生活安全及品質": "safety", "休閒旅遊": "tourism", "就醫": "health",
                 "求學及進修": "education", "老年安養": "society", "開創事業": "society", "購屋及遷徙": "society",
                 "公共資訊": "society"}  # fmt: skip
    made = 0
    index = existing
    while made < to_make:
        with transaction.atomic():
            datasets, resources, tag_links, group_links = [], [], [], []
            for _ in range(min(500, to_make - made)):
                index += 1
                agency_part, category, topics = SEED_TOPICS[index % len(SEED_TOPICS)]
                topic = rng.choice(topics)
                district = rng.choice(districts)
                agency = _agency(agency_part, city)
                frequency = rng.choice(
                    ["realtime", "daily", "monthly", "monthly", "quarterly", "yearly", "irregular"]
                )
                title = (
                    f"桃園市{district}{topic}" + rng.choice(["", "資料", "統計", "一覽表"]) + f"（{index}）"
                )
                dataset = Dataset(
                    id=uuid.uuid4(), name=f"tyc-seed-{index:05d}", title=title, agency=agency, category=category,
                    notes=f"{agency.name_zh}提供之{district}{topic}資料。", field_description="名稱、行政區、地址、經度、緯度",
                    update_frequency=frequency, contact_name="資料開放窗口", contact_phone="03-3322101",
                    published_on=datetime.date(2014, 1, 1) + datetime.timedelta(days=rng.randint(0, 1800)),
                    metadata_modified=now - datetime.timedelta(days=rng.randint(0, 400)), state=Dataset.State.PUBLIC,
                )  # fmt: skip
                dataset.search_text = services.search_text_for(dataset, [topic])
                formats = rng.choices([["CSV", "JSON"], ["CSV"], ["JSON", "XML"], ["GeoJSON", "CSV"], ["XLSX"], ["PDF"]],
                                      weights=[40, 30, 10, 17, 2, 1])[0]  # fmt: skip
                for position, fmt in enumerate(formats):
                    stars = resource_stars(format=fmt, license=dataset.license)
                    resources.append(Resource(
                        dataset=dataset, position=position, name=f"{title} {fmt}", format=fmt,
                        url=f"https://data.tycg.gov.tw/opendata/datalist/datasetMeta/download?id={dataset.id}&fmt={fmt.lower()}",
                        mimetype="", last_modified=dataset.metadata_modified, stars=stars,
                    ))  # fmt: skip
                dataset.stars = max(resource_stars(format=f, license=dataset.license) for f in formats)
                datasets.append(dataset)
                tag_links.append(Dataset.tags.through(dataset_id=dataset.id, tag_id=tags[topic].id))
                group = groups.get(group_for.get(category, "society"))
                group_links.append(Dataset.groups.through(dataset_id=dataset.id, group_id=group.id))
            Dataset.objects.bulk_create(datasets)
            Resource.objects.bulk_create(resources)
            Dataset.tags.through.objects.bulk_create(tag_links)
            Dataset.groups.through.objects.bulk_create(group_links)
        made += len(datasets)
        if bar:
            bar.update(len(datasets))
    _big_table(rng, districts, city, big_table_rows, bar)
    if bar:
        bar.close()
    _usage_history(rng, monthly_views=21_562, monthly_downloads=383_603, monthly_api=1_069_132)
    response_cache.bump()  # bulk inserts send no signals
    return made


BIG_TABLE_NAME = "tyc-parking-occupancy-history"


def _big_table(rng, districts, city, rows: int, bar=None) -> Resource | None:
    """One datastore table of ``rows`` parking occupancy readings, bulk-loaded."""
    if rows <= 0 or Dataset.objects.filter(name=BIG_TABLE_NAME).exists():
        return None
    agency = _agency("交通局", city)
    dataset = services.dataset_create(
        actor=None, state=Dataset.State.PUBLIC,
        data=services.DatasetInput(
            title="桃園市路外停車場剩餘車位歷史紀錄", agency=agency, name=BIG_TABLE_NAME, category="交通及通訊",
            notes="各公有路外停車場每5分鐘之剩餘車位紀錄。", field_description="停車場代號、停車場名稱、行政區、紀錄時間、總車位數、剩餘車位數",
            update_frequency="realtime", tags=["停車", "即時"], groups=["transport"],
        ),
    )  # fmt: skip
    fields = [{"id": "停車場代號", "type": "text"}, {"id": "停車場名稱", "type": "text"}, {"id": "行政區", "type": "text"},
              {"id": "紀錄時間", "type": "text"}, {"id": "總車位數", "type": "int"}, {"id": "剩餘車位數", "type": "int"}]  # fmt: skip
    now = timezone.now()
    resource = Resource.objects.create(
        dataset=dataset, name="停車場剩餘車位歷史紀錄 CSV", format="CSV", mimetype="text/csv", encoding="UTF-8",
        datastore_active=True, datastore_fields=fields, datastore_row_count=rows, last_modified=now,
        stars=3, url="https://data.tycg.gov.tw/opendata/parking-history.csv",
    )  # fmt: skip
    lots = [
        (f"P{i:04d}", f"{rng.choice(districts)}第{i}停車場", rng.choice(districts), rng.randint(40, 600))
        for i in range(1, 401)
    ]
    start = now - datetime.timedelta(minutes=5 * (rows // len(lots) + 1))
    row_id = 0
    counter = services.ValueCounter()
    while row_id < rows:
        with transaction.atomic():
            batch = []
            for _ in range(min(BATCH * 4, rows - row_id)):
                row_id += 1
                code, lot_name, district, total = lots[row_id % len(lots)]
                at = (start + datetime.timedelta(minutes=5 * (row_id // len(lots)))).astimezone(
                    timezone.get_current_timezone()
                )
                data = {"停車場代號": code, "停車場名稱": lot_name, "行政區": district,
                        "紀錄時間": at.strftime("%Y-%m-%d %H:%M"), "總車位數": total, "剩餘車位數": rng.randint(0, total)}  # fmt: skip
                text = " ".join(str(v) for v in data.values()).lower()
                batch.append(DatastoreRow(resource=resource, row_id=row_id, data=data, search_text=text))
                counter.add(data)
            DatastoreRow.objects.bulk_create(batch, batch_size=BATCH)
        if bar:
            bar.update(len(batch))
    counter.save(resource)
    services._refresh_stars(dataset)
    return resource


def generate(*, scale: str, seed: int = 2019, progress_factory=None) -> dict:
    if scale == "seed":
        created = _generate_seed(seed=seed, progress_factory=progress_factory)
    else:
        created = _generate_small(seed)
    return {
        "datasets_created": created,
        "datasets_total": Dataset.objects.count(),
        "datastore_rows": DatastoreRow.objects.count(),
    }
