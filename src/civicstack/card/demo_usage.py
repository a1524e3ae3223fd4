"""Demo data for card use (issue 5): the benefit rules the report describes, readers of a bus
company and the metro, partner merchants with offers (1,000+ at seed scale, as S01 says), and for
the demo citizen a top-up, a week of bus and metro rides, a merchant payment and sealed points."""

import datetime
import random

from django.utils import timezone

from civicstack.core import business_number
from civicstack.core.models import Agency, ApiKey, District, User
from civicstack.core.services import api_key_create

from . import services
from .models import BenefitRule, Card, CardFunction, Merchant
from .settlement import TapIn

# Approximate district centres (WGS84), to place demo merchants on the app's map.
DISTRICT_CENTRES = {
    "68000010": (24.993, 121.301), "68000020": (24.965, 121.225), "68000100": (24.946, 121.218),
    "68000080": (24.928, 121.284), "68000040": (24.908, 121.146), "68000050": (25.045, 121.292),
    "68000030": (24.881, 121.287), "68000090": (24.864, 121.216), "68000070": (25.028, 121.346),
    "68000060": (25.064, 121.196), "68000120": (25.035, 121.083), "68000110": (24.972, 121.106),
    "68000130": (24.790, 121.350),
}  # fmt: skip
SHOP_WORDS = {
    "food": ["牛肉麵", "便當", "豆花", "早餐店", "咖啡", "客家菜包", "小吃"],
    "retail": ["文具行", "書局", "眼鏡行", "五金行", "3C 館", "服飾"],
    "market": ["公有市場攤位"],
    "leisure": ["觀光工廠", "休閒農場", "民宿", "露營區"],
    "health": ["藥局", "診所", "美髮"],
    "services": ["洗衣店", "修鞋", "照相館"],
    "transport": ["加油站", "停車場"],
}
RULES = [
    # code, name, kind, function, card kinds, params, from
    ("bus-bogo", "市內客運買一送一", "nth_use_free", "bus_bogo", [], {"every": 2}, "2015-01-01"),
    ("metro-20", "桃園捷運八折", "percent_off", "metro_discount", [], {"percent": 20}, "2017-03-02"),
    ("student-bus", "學生公車票價補助", "amount_off", "bus_bogo", ["student"], {"amount": 6}, "2015-01-01"),
    ("welfare-month", "敬老愛心點數每月核發", "monthly_points", "welfare_points", ["senior", "disability"],
     {"points": 800, "district_points": {"68000130": 1000}}, "2015-01-01"),
    ("welfare-bus", "敬老愛心點數搭公車", "pay_with_points", "bus_bogo", ["senior", "disability"], {}, "2015-01-01"),
    ("welfare-taxi", "敬老愛心點數搭愛心計程車", "pay_with_points", "love_taxi", ["senior", "disability"],
     {"cap_per_use": 85}, "2019-03-01"),
    ("welfare-pool", "敬老愛心點數游泳池", "pay_with_points", "swimming_pool", ["senior", "disability"], {},
     "2019-03-01"),
    ("welfare-sports", "敬老愛心點數國民運動中心", "pay_with_points", "sports_card", ["senior", "disability"], {},
     "2019-03-01"),
    ("earn-sports", "運動中心使用回饋", "earn_points", "bonus_points", [],
     {"functions": ["sports_card", "swimming_pool"], "every": 1, "points": 2}, "2019-03-01"),
    ("earn-uses", "跨功能使用回饋", "earn_points", "bonus_points", [], {"functions": [], "every": 10, "points": 5},
     "2019-03-01"),
]  # fmt: skip


def _rules() -> int:
    functions = {f.code: f for f in CardFunction.objects.all()}
    for code, name, kind, function, kinds, params, start in RULES:
        services.rule_save(actor=None, code=code, name=name, kind=kind, function=functions[function], params=params,
                           card_kinds=kinds, effective_from=datetime.date.fromisoformat(start))  # fmt: skip
    return len(RULES)


def _key(name: str, partner: str, agency_code: str, scopes: list[str]) -> ApiKey:
    existing = ApiKey.objects.filter(name=name, partner=partner).first()
    if existing is not None:
        return existing
    _raw, key = api_key_create(actor=None, name=name, partner=partner, agency=Agency.objects.get(code=agency_code),
                               scopes=scopes, expires_at=timezone.now() + datetime.timedelta(days=365))  # fmt: skip
    return key


def _readers() -> dict:
    bus = services.partner_create(actor=None, code="demo-bus", name="示範客運 (demo)", kind="transit")
    metro = services.partner_create(
        actor=None, code="taoyuan-metro", name="桃園大眾捷運股份有限公司", kind="transit"
    )
    bus_key = _key("validators", bus.name, "TYC-L1-07", ["card.taps:upload"])
    metro_key = _key("gates", metro.name, "TYC-L1-25", ["card.taps:upload"])
    readers = {
        "bus": services.reader_register(actor=None, code="demo-bus-5001", kind="bus", api_key=bus_key,
                                        functions=["bus_bogo"], operator_partner=bus, location="5001 桃園—中壢"),
        "metro": services.reader_register(actor=None, code="demo-metro-a8", kind="metro_gate", api_key=metro_key,
                                          functions=["metro_discount"], operator_partner=metro, location="A8 長庚醫院"),
    }  # fmt: skip
    return {"readers": readers, "keys": {"bus": bus_key, "metro": metro_key}}


def _merchants(count: int, rng: random.Random) -> int:
    districts = list(District.objects.all())
    today = timezone.localdate()
    categories = list(SHOP_WORDS)
    made = 0
    for n in range(count):
        district = districts[n % len(districts)]
        category = rng.choices(categories, weights=[30, 20, 12, 10, 10, 10, 8])[0]
        body = f"{7 + n // 10**6 % 2}{n % 10**6:06d}"
        ban = body + business_number.check_digit_for(body)
        lat, lon = DISTRICT_CENTRES.get(district.code, (24.95, 121.25))
        merchant = services.merchant_register(
            actor=None, code=f"m{n:05d}", name=f"{district.name_zh[:-1]}{rng.choice(SHOP_WORDS[category])} {n + 1}號店",
            business_no=ban, category=category, district=district, address=f"{district.name_zh}示範路 {n % 300 + 1} 號",
            latitude=round(lat + rng.uniform(-0.02, 0.02), 6), longitude=round(lon + rng.uniform(-0.02, 0.02), 6),
            phone=f"03-{rng.randrange(2000000, 4999999)}",
        )  # fmt: skip
        offer = rng.random()
        if offer < 0.4:
            services.offer_save(actor=None, merchant=merchant, kind="percent_off", title="持市民卡 9 折",
                                params={"percent": 10, "max_off": 100}, valid_from=today)  # fmt: skip
        elif offer < 0.7:
            services.offer_save(actor=None, merchant=merchant, kind="spend_and_save", title="滿 300 折 30",
                                params={"threshold": 300, "off": 30}, valid_from=today)  # fmt: skip
        elif offer < 0.8:
            services.offer_save(actor=None, merchant=merchant, kind="points_multiplier", title="紅利點數兩倍",
                                params={"multiplier": 2}, valid_from=today)  # fmt: skip
        made += 1
    return made


def _citizen_week(readers: dict) -> dict:
    """The demo citizen's card: a top-up, a week of rides (the second bus ride of a day is free,
    the metro 20% off), a merchant payment, points earned and yesterday's log sealed."""
    user = User.objects.filter(username="citizen").first()
    card = (
        Card.objects.filter(person__user=user, state=Card.State.ACTIVE, kind="general").first()
        if user
        else None
    )
    if card is None:
        return {}
    services.wallet_top_up(
        actor=None, card=card, amount=500, channel="counter", idempotency_key="demo-citizen-1"
    )
    now = timezone.localtime()
    bus_taps, metro_taps = [], []
    for day in range(6, 0, -1):
        morning = (now - datetime.timedelta(days=day)).replace(hour=7, minute=40, second=0, microsecond=0)
        bus_taps.append(TapIn("demo-bus-5001", f"demo-{day}-am", card.number, morning, 18, "bus_bogo"))
        bus_taps.append(TapIn("demo-bus-5001", f"demo-{day}-pm", card.number, morning + datetime.timedelta(hours=10),
                              18, "bus_bogo"))  # fmt: skip
        if day % 2:
            metro_taps.append(TapIn("demo-metro-a8", f"demo-{day}", card.number,
                                    morning + datetime.timedelta(hours=4), 35, "metro_discount"))  # fmt: skip
    services.taps_settle(api_key=readers["keys"]["bus"], taps=bus_taps)
    services.taps_settle(api_key=readers["keys"]["metro"], taps=metro_taps)
    shop = Merchant.objects.order_by("code").first()
    if shop is not None:
        services.pay_by_merchant_qr(
            actor=user, card=card, merchant_code=shop.code, amount=120, key="demo-lunch"
        )
    for day in range(6, 0, -1):  # each night's run as it happened, so the past days can be sealed
        used_on = timezone.localdate() - datetime.timedelta(days=day)
        services.points_earn_for_day(day=used_on, recorded_at=min(
            timezone.now(), timezone.make_aware(datetime.datetime.combine(used_on, datetime.time(2, 0)))
            + datetime.timedelta(days=1),
        ))  # fmt: skip
    event_day = timezone.localdate() - datetime.timedelta(days=3)  # a card experience event three days ago
    services.points_earn(card=card, points=20, reason="市民卡體驗活動參加獎勵", key="demo-citizen-event",
                         recorded_at=timezone.make_aware(datetime.datetime.combine(event_day, datetime.time(15))))  # fmt: skip
    return {"citizen_taps": len(bus_taps) + len(metro_taps)}


def generate(*, scale: str, seed: int = 2019) -> dict:
    if BenefitRule.objects.exists():
        return {}
    rng = random.Random(seed + 5)
    counts = {"rules": _rules()}
    readers = _readers()
    counts["merchants"] = _merchants(1_050 if scale == "seed" else 60, rng)
    counts.update(_citizen_week(readers))
    counts["points_days_sealed"] = len(services.points_seal_days())
    return counts
