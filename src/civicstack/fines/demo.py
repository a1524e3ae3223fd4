"""Demo data of the fines module: a catalog of real fees and fines of the city's agencies, and cases.

``small``: the catalog of about twenty agencies and ~200 cases, made through the services (so
every case has its payment order and its history in the audit trail), spread over 14 months.

``seed``: 52 agencies, 332 items and 200,000 cases, bulk-inserted in batches with a progress
bar. Only here, and only for speed, the payment orders are inserted directly through the
payments models (state matching the case; no ledger postings and no per-case audit events;
one summary event records the load). Nothing else writes payments tables directly.
"""

import datetime
import random
import secrets
from dataclasses import dataclass

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from civicstack.core import business_number, crypto, identity
from civicstack.core.models import Agency, Person, User
from civicstack.core.services import ID_ENCRYPTION_PURPOSE, audit_record, person_identifier
from civicstack.payments import services as payments
from civicstack.payments.models import PaymentOrder, PaymentOrderItem

from . import case_number, services
from .models import BusinessItem, FineCase

SCALES = {"small": 200, "seed": 200_000}
SEED_AGENCIES, SEED_ITEMS = 52, 332
BATCH = 5_000
HISTORY_DAYS = 14 * 30  # the report's figures cover 14 months


@dataclass(frozen=True)
class ItemTemplate:
    code: str
    name: str
    kind: str
    statute: str
    article: str
    default: int
    low: int
    high: int


def T(code, name, kind, statute, article, default, low=None, high=None) -> ItemTemplate:  # noqa: N802
    return ItemTemplate(code, name, kind, statute, article, default, low or default, high or default)


# Amounts and legal bases as the statutes set them (penalty ranges from the penalty articles).
CATALOG: dict[str, list[ItemTemplate]] = {
    "環境保護局": [
        T("EPA-LITTER", "隨地丟棄菸蒂、檳榔渣、紙屑", "fine", "廢棄物清理法", "第27條第1款、第50條", 1200, 1200, 6000),
        T("EPA-SOIL", "污染地面、水溝、牆壁等土地定著物", "fine", "廢棄物清理法", "第27條第2款、第50條", 1200, 1200, 6000),
        T("EPA-DUMP", "於路旁、屋外棄置廢棄物", "fine", "廢棄物清理法", "第27條第3款、第50條", 3000, 1200, 6000),
        T("EPA-NOISE", "噪音管制區內製造噪音經限期改善未改善", "fine", "噪音管制法", "第8條、第24條", 3000, 3000, 30000),
        T("EPA-BULKY", "大型廢棄物清運費", "fee", "廢棄物清理法", "第24條", 500, 200, 2000),
    ],
    "交通局": [
        T("TRA-PARK", "路邊停車費", "fee", "停車場法", "第31條", 40, 20, 400),
        T("TRA-PARK-LATE", "路邊停車費逾期補繳(含工本費)", "fee", "停車場法", "第31條", 90, 70, 450),
        T("TRA-TOW", "違規車輛移置費(小型車)", "fee", "道路交通管理處罰條例", "第85條之3", 1000, 200, 4000),
        T("TRA-STORE", "違規車輛保管費(小型車,每日)", "fee", "道路交通管理處罰條例", "第85條之3", 200, 50, 3000),
    ],
    "交通事件裁決處": [
        T("ADJ-PARK", "違規停車", "fine", "道路交通管理處罰條例", "第56條", 900, 600, 1200),
        T("ADJ-STOP", "違規臨時停車", "fine", "道路交通管理處罰條例", "第55條", 600, 300, 600),
        T("ADJ-RED", "闖紅燈(汽車)", "fine", "道路交通管理處罰條例", "第53條", 2700, 1800, 5400),
    ],
    "地政事務所": [
        T("LAND-REG", "土地建物權利變更登記費(申報地價千分之一)", "fee", "土地法", "第76條", 2000, 1, 10_000_000),
        T("LAND-DEED", "權利書狀費", "fee", "土地法", "第67條", 80, 80, 8000),
        T("LAND-COPY", "登記謄本費", "fee", "土地法", "第79條之2", 20, 20, 2000),
        T("LAND-LATE", "逾期申請登記罰鍰(登記費一倍至二十倍)", "fine", "土地法", "第73條", 2000, 1, 200_000_000),
        T("LAND-SURVEY", "土地複丈費", "fee", "土地法", "第47條之2", 4000, 800, 400_000),
    ],
    "戶政事務所": [
        T("HR-COPY", "戶籍謄本", "fee", "戶籍法", "第65條", 15, 15, 1500),
        T("HR-IDCARD", "國民身分證補領", "fee", "戶籍法", "第65條", 200, 50, 200),
        T("HR-LATE", "逾期申請戶籍登記", "fine", "戶籍法", "第79條", 300, 300, 900),
    ],
    "工務局": [
        T("PW-DIG", "道路挖掘許可審查費", "fee", "市區道路條例", "第14條", 1000, 500, 50000),
        T("PW-DIG-FINE", "未經許可挖掘道路", "fine", "市區道路條例", "第33條", 6000, 1000, 100000),
        T("PW-REPAIR", "道路挖掘修復費", "fee", "市區道路條例", "第14條", 12000, 1000, 2_000_000),
    ],
    "衛生局": [
        T("HLT-GHP", "食品業者未符合食品良好衛生規範準則,屆期未改正", "fine", "食品安全衛生管理法", "第8條、第44條",
          60000, 60000, 200_000_000),
        T("HLT-LABEL", "食品標示不符規定", "fine", "食品安全衛生管理法", "第22條、第47條", 30000, 30000, 3_000_000),
        T("HLT-SMOKE", "於禁菸場所吸菸", "fine", "菸害防制法", "", 2000, 2000, 10000),
        T("HLT-CERT", "衛生證明書規費", "fee", "規費法", "第7條", 100, 50, 1000),
    ],
    "消防局": [
        T("FIRE-EQUIP", "消防安全設備未依規定設置、維護", "fine", "消防法", "第6條、第37條", 6000, 6000, 30000),
        T("FIRE-CERT", "火災證明書規費", "fee", "規費法", "第7條", 100, 100, 500),
    ],
    "區公所": [
        T("DO-NICHE", "納骨堂(塔)使用規費", "fee", "殯葬管理條例", "第30條", 20000, 5000, 100000),
        T("DO-CERT", "證明書規費", "fee", "規費法", "第7條", 50, 50, 500),
    ],
    "都市發展局": [
        T("UD-ILLEGAL", "未經許可擅自建造", "fine", "建築法", "第25條、第86條", 50000, 10000, 5_000_000),
        T("UD-PERMIT", "建造執照規費(工程造價千分之一)", "fee", "建築法", "第29條", 5000, 100, 10_000_000),
    ],
}  # fmt: skip

# Fees every agency may charge under the Fees Act (規費法), used to fill the seed catalog.
GENERIC = [
    T("GEN-COPY", "資料影印費", "fee", "規費法", "第7條", 2, 2, 5000),
    T("GEN-READ", "檔案閱覽抄錄費", "fee", "規費法", "第7條", 100, 50, 2000),
    T("GEN-CERT", "證明書規費", "fee", "規費法", "第7條", 100, 50, 1000),
    T("GEN-VENUE", "場地使用費", "fee", "規費法", "第8條", 3000, 500, 100000),
    T("GEN-EXAM", "審查費", "fee", "規費法", "第7條", 1500, 500, 50000),
    T("GEN-LATE", "規費逾期加徵", "fine", "規費法", "第20條", 100, 10, 50000),
]


def _agency_catalog_key(agency: Agency) -> str | None:
    if agency.kind == Agency.Kind.LAND_OFFICE:
        return "地政事務所"
    if agency.kind == Agency.Kind.HOUSEHOLD_REGISTRATION_OFFICE:
        return "戶政事務所"
    if agency.kind == Agency.Kind.DISTRICT_OFFICE:
        return "區公所"
    for key in CATALOG:
        if key in agency.name_zh:
            return key
    return None


def _agencies(limit: int | None) -> list[Agency]:
    """Agencies with a catalog first (bureaus, then land, household and district offices), then others."""
    agencies = list(
        Agency.objects.exclude(kind__in=[Agency.Kind.SCHOOL, Agency.Kind.CITY_GOVERNMENT]).order_by("code")
    )
    agencies.sort(key=lambda a: (_agency_catalog_key(a) is None, a.kind != Agency.Kind.FIRST_LEVEL, a.code))
    return agencies[:limit] if limit else [a for a in agencies if _agency_catalog_key(a)]


def ensure_catalog(*, scale: str) -> list[BusinessItem]:
    """The item catalog (idempotent: existing items are kept)."""
    seed = scale == "seed"
    agencies = _agencies(SEED_AGENCIES if seed else None)
    if not seed:
        # One office of each kind is enough for the small demo; the clerk's district office too.
        seen: set[str] = set()
        kept = []
        for agency in agencies:
            key = _agency_catalog_key(agency)
            if key in ("地政事務所", "戶政事務所", "區公所") and key in seen:
                continue
            seen.add(key)
            kept.append(agency)
        demo_office = Agency.objects.filter(staff_roles__user__username="clerk").first()
        if demo_office is not None and demo_office not in kept:
            kept.append(demo_office)
        agencies = kept
    plan: list[tuple[Agency, ItemTemplate, str]] = []
    for agency in agencies:
        for template in CATALOG.get(_agency_catalog_key(agency) or "", []):
            plan.append((agency, template, template.code))
    if seed:
        # Fill to the report's 332 items with the Fees Act's generic items, round-robin.
        index = 0
        while len(plan) < SEED_ITEMS:
            agency = agencies[index % len(agencies)]
            template = GENERIC[(index // len(agencies)) % len(GENERIC)]
            round_number = index // (len(agencies) * len(GENERIC))
            code = template.code if round_number == 0 else f"{template.code}-{round_number + 1}"
            plan.append((agency, template, code))
            index += 1
        plan = plan[:SEED_ITEMS]
    existing = {(a, c) for a, c in BusinessItem.objects.values_list("agency_id", "code")}
    new = [
        BusinessItem(agency=agency, code=code, name=t.name, kind=t.kind, statute=t.statute, article=t.article,
                     default_amount=t.default, min_amount=t.low, max_amount=t.high)
        for agency, t, code in plan if (agency.pk, code) not in existing
    ]  # fmt: skip
    BusinessItem.objects.bulk_create(new)
    keys = {(agency.pk, code) for agency, _t, code in plan}
    return [
        item for item in BusinessItem.objects.select_related("agency") if (item.agency_id, item.code) in keys
    ]


COMPANY_WORDS = ["大成", "永豐", "新光", "宏達", "東元", "聯華", "統一", "長榮", "遠東", "台塑", "中興", "光華", "金利",
                 "福興", "順發", "建隆", "群益", "協和", "振興", "華泰"]  # fmt: skip
COMPANY_KINDS = [
    "食品股份有限公司",
    "營造有限公司",
    "企業社",
    "實業股份有限公司",
    "餐飲有限公司",
    "工程行",
    "商行",
]


class Payers:
    """Payers drawn from the residents registry (85%) and invented companies (15%)."""

    def __init__(self, rng: random.Random, sample: int):
        self.rng = rng
        bounds = Person.objects.aggregate(low=Min("id"), high=Max("id"))
        self.people = []
        if sample and bounds["low"] is not None:
            # Ids drawn from the seeded RNG (not ORDER BY random()), so one seed gives one city.
            span = range(bounds["low"], bounds["high"] + 1)
            ids = sorted(rng.sample(span, min(sample, len(span))))
            people = Person.objects.filter(id__in=ids).only("id", "name", "id_ciphertext", "user_id")
            # The demo citizen gets their own two cases only (see _generate_small).
            self.people = list(people.exclude(user__username="citizen").order_by("id"))
        self.companies = []
        for _ in range(max(20, sample // 10)):
            prefix = f"{rng.randrange(10**7):07d}"
            ban = prefix + business_number.check_digit_for(prefix)
            self.companies.append((ban, rng.choice(COMPANY_WORDS) + rng.choice(COMPANY_KINDS)))

    def draw(self):
        if self.people and self.rng.random() < 0.85:
            person = self.rng.choice(self.people)
            return "person", person
        return "company", self.rng.choice(self.companies)


def _amount(rng: random.Random, item: BusinessItem) -> int:
    if item.min_amount == item.max_amount or rng.random() < 0.6:
        return item.default_amount
    high = min(item.max_amount, item.default_amount * 5)
    return rng.randint(item.min_amount, max(item.min_amount, high))


def _issued_at(rng: random.Random, now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(days=rng.uniform(0, HISTORY_DAYS))


def _fate(rng: random.Random, kind: str, due: datetime.date, today: datetime.date) -> str:
    """Where a case has got to: most are paid; unpaid past-due fines go overdue, some to enforcement."""
    roll = rng.random()
    if roll < 0.03:
        return FineCase.State.CANCELLED
    if due >= today:
        return (
            FineCase.State.PAID
            if roll < 0.45
            else (FineCase.State.NOTIFIED if roll < 0.9 else FineCase.State.ISSUED)
        )
    if roll < (0.93 if kind == "fee" else 0.78):
        return FineCase.State.PAID
    if kind == "fine" and roll < 0.88:
        return FineCase.State.TRANSFERRED
    return FineCase.State.OVERDUE


# --- small: through the services --------------------------------------------------------------


def _generate_small(*, count: int, seed: int, items: list[BusinessItem]) -> dict:
    rng = random.Random(seed)
    payers = Payers(rng, sample=min(400, Person.objects.count()))
    today, now = timezone.localdate(), timezone.now()
    made = 0
    citizen = Person.objects.filter(user__username="citizen").first()
    for index in range(count):
        item = rng.choice(items)
        if citizen is not None and index < 2:
            kind, payer = "person", citizen
        else:
            kind, payer = payers.draw()
        if kind == "person":
            identifier, name = person_identifier(payer), payer.name
        else:
            identifier, name = payer
        issued_at = _issued_at(rng, now) if index >= 2 else now
        due = timezone.localtime(issued_at).date() + datetime.timedelta(days=30)
        state = _fate(rng, item.kind, due, today) if index >= 2 else (
            FineCase.State.ISSUED if index == 0 else FineCase.State.PAID)  # fmt: skip
        # The demo citizen's two cases (one to pay, one paid at a store) put nothing in their inbox,
        # which holds only the welcome message; they find the case with the lookup page.
        quiet = citizen is not None and index < 2
        with transaction.atomic():
            case = services.case_issue(actor=None, data=services.CaseInput(
                item=item, payer_identifier=identifier, payer_name=name, amount=_amount(rng, item),
                due_date=max(due, today), facts=f"{item.name}(示範資料)",
            ))  # fmt: skip
            # Backdate the demo case and its order (issuing always dates them today).
            FineCase.objects.filter(pk=case.pk).update(created_at=issued_at, due_date=due)
            PaymentOrder.objects.filter(pk=case.payment_order_id).update(due_date=max(due, today))
            case.refresh_from_db()
            if state == FineCase.State.CANCELLED:
                services.case_cancel(actor=None, case=case, reason="示範:開單錯誤,撤銷")
            elif state != FineCase.State.ISSUED:
                if not quiet:
                    services.case_send_notice(actor=None, case=case)
                if state == FineCase.State.PAID:
                    payments.payment_order_settle(
                        actor=None, order_number=case.payment_order.number, amount=case.amount,
                        channel=rng.choice(["convenience_store", "virtual_account", "card_gateway", "counter"]),
                        external_reference=f"demo-{case.number}",
                    )  # fmt: skip
                elif state in (FineCase.State.OVERDUE, FineCase.State.TRANSFERRED):
                    PaymentOrder.objects.filter(pk=case.payment_order_id).update(due_date=due)
        made += 1
    overdue = services.cases_mark_overdue(today=today)
    transferred = 0
    for case in FineCase.objects.filter(state=FineCase.State.OVERDUE, kind="fine").order_by("id"):
        if rng.random() < 0.4:
            services.case_transfer_to_enforcement(actor=None, case=case, reason="示範:逾期未繳,移送行政執行")
            transferred += 1
    return {"cases_created": made, "overdue": overdue.marked_overdue, "transferred": transferred}


# --- seed: bulk -------------------------------------------------------------------------------

ORDER_STATE = {
    FineCase.State.ISSUED: PaymentOrder.State.CREATED,
    FineCase.State.NOTIFIED: PaymentOrder.State.PENDING,
    FineCase.State.PAID: PaymentOrder.State.PAID,
    FineCase.State.OVERDUE: PaymentOrder.State.EXPIRED,
    FineCase.State.TRANSFERRED: PaymentOrder.State.EXPIRED,
    FineCase.State.CANCELLED: PaymentOrder.State.CANCELLED,
}


def _order_number(issued_at: datetime.datetime, used: set[str]) -> str:
    """The payments module's format (yymmdd + 10 random digits), never repeated within the run."""
    while True:
        number = f"{timezone.localtime(issued_at):%y%m%d}{secrets.randbelow(10**10):010d}"
        if number not in used:
            used.add(number)
            return number


def _generate_seed(*, count: int, seed: int, items: list[BusinessItem], progress=None) -> int:
    rng = random.Random(seed)
    payers = Payers(rng, sample=min(20_000, Person.objects.count()))  # SQLite: < 32,766 parameters
    identifiers = {
        p.pk: crypto.decrypt(p.id_ciphertext, purpose=ID_ENCRYPTION_PURPOSE) for p in payers.people
    }
    today, now = timezone.localdate(), timezone.now()
    channels = ["convenience_store", "virtual_account", "card_gateway", "counter", "e_wallet"]
    used_numbers: set[str] = set(FineCase.objects.values_list("number", flat=True))
    used_orders: set[str] = set()
    made = 0
    while made < count:
        size = min(BATCH, count - made)
        with transaction.atomic():
            next_id = (FineCase.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
            cases, orders, order_items = [], [], []
            for offset in range(size):
                item = rng.choice(items)
                kind, payer = payers.draw()
                if kind == "person":
                    ident = services.PayerIdentifier("person", identifiers[payer.pk])
                    name, person_id, ban = payer.name, payer.pk, ""
                else:
                    ident = services.PayerIdentifier("company", payer[0])
                    name, person_id, ban = payer[1], None, payer[0]
                issued_at = _issued_at(rng, now)
                due = timezone.localtime(issued_at).date() + datetime.timedelta(days=30)
                state = _fate(rng, item.kind, due, today)
                amount = _amount(rng, item)
                number = case_number.generate()
                while number in used_numbers:
                    number = case_number.generate()
                used_numbers.add(number)
                case_id = next_id + offset
                paid_at = issued_at + datetime.timedelta(days=rng.uniform(1, 29)) if state == "paid" else None
                order = PaymentOrder(
                    number=_order_number(issued_at, used_orders),
                    payee_agency_id=item.agency_id, payer_person_id=person_id, payer_company_ban=ban,
                    payer_name=name, amount=amount, due_date=due, state=ORDER_STATE[state],
                    source_type=services.SOURCE_TYPE, source_id=str(case_id), reference=number,
                    channel=rng.choice(channels) if paid_at else "", paid_amount=amount if paid_at else None,
                    paid_at=paid_at,
                )  # fmt: skip
                orders.append(order)
                cases.append(FineCase(
                    id=case_id, number=number, agency_id=item.agency_id, item=item, kind=item.kind,
                    payer_kind=kind, payer_person_id=person_id, payer_company_ban=ban, payer_name=name,
                    payer_identifier_masked=identity.mask(ident.number) if kind == "person" else "",
                    payer_lookup_digest=services.payer_digest(ident), statute=item.statute, article=item.article,
                    facts=f"{item.name}(示範資料)", amount=amount, due_date=due, state=state, created_at=issued_at,
                    notified_at=issued_at if state != "issued" else None, paid_at=paid_at,
                    reminded_at=now if state in ("overdue", "transferred") else None,
                    enforcement_transferred_at=now if state == "transferred" else None,
                    closing_reason="示範資料" if state in ("transferred", "cancelled") else "",
                ))  # fmt: skip
            PaymentOrder.objects.bulk_create(orders, batch_size=1000)
            order_items.extend(
                PaymentOrderItem(order=order, description=case_row.item.name[:200], amount=order.amount)
                for order, case_row in zip(orders, cases, strict=True)
            )
            PaymentOrderItem.objects.bulk_create(order_items, batch_size=1000)
            for order, case_row in zip(orders, cases, strict=True):
                case_row.payment_order_id = order.pk
            FineCase.objects.bulk_create(cases, batch_size=1000)
        made += size
        if progress:
            progress(size)
    # Explicit ids were inserted: move PostgreSQL's sequence past them (a no-op on SQLite).
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [FineCase]):
            cursor.execute(sql)
    return made


def generate(*, scale: str, seed: int = 2019, progress_factory=None) -> dict:
    """Called by ``civicstack demo-data`` after residents and the demo logins exist."""
    target = SCALES[scale]
    items = ensure_catalog(scale=scale)
    existing = FineCase.objects.count()
    created = 0
    if existing < target and items:
        if scale == "seed":
            bar = progress_factory(target - existing) if progress_factory else None
            if bar is not None and hasattr(bar, "set_description"):
                bar.set_description("fines cases")
            created = _generate_seed(count=target - existing, seed=seed + existing, items=items,
                                     progress=bar.update if bar else None)  # fmt: skip
            if bar:
                bar.close()
        else:
            created = _generate_small(count=target - existing, seed=seed + existing, items=items)[
                "cases_created"
            ]
    if created:
        system = User.objects.filter(username="cityadmin").first()
        audit_record(actor=None, action="fines.demo_generated", object_type="fines.finecase",
                     data={"scale": scale, "cases": created, "by": system.username if system else ""})  # fmt: skip
    return {
        "agencies": len({item.agency_id for item in items}),
        "items": len(items),
        "cases_created": created,
        "cases_total": FineCase.objects.count(),
    }
