"""Demo data of the eservices module.

``small``: a catalog of about thirty real kinds of application items of the city's bureaus and
district offices, each with an online form (JSON Schema + layout) and a blank PDF form, and a few
dozen applications made through the services (so each has its timeline and audit events) — the
demo citizen's among them: one filed across districts, one waiting for a supplement.

``seed``: 808 items of 47 agencies and 370,000 applications over the past year, bulk-inserted in
batches with a progress bar (no per-application audit events or notifications; one summary event).
"""

import datetime
import io
import random

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from civicstack.core import working_days
from civicstack.core.models import Agency, District, Person, StaffRole, User
from civicstack.core.services import audit_record

from . import search, services
from .models import Application, BlankForm, FormDefinition, ServiceItem

SCALES = {"small": 40, "seed": 370_000}
SEED_ITEMS, SEED_AGENCIES = 808, 47
BATCH = 5_000
DO, HRO = Agency.Kind.DISTRICT_OFFICE, Agency.Kind.HOUSEHOLD_REGISTRATION_OFFICE
T, A = ServiceItem.CrossDistrict.RECEIVE_AND_TRANSFER, ServiceItem.CrossDistrict.HANDLE_ANYWHERE
N = ServiceItem.CrossDistrict.NOT_ALLOWED

# (bureau short name, code, name, category, working days, fee, office kind, cross rule, channel, description)
CATALOG = [
    (
        "社會局",
        "SW-LOWINC",
        "低收入戶資格申請",
        "社會救助",
        20,
        0,
        DO,
        T,
        "online",
        "設籍本市、家庭總收入及財產符合標準者,申請低收入戶資格審核。",
    ),
    (
        "社會局",
        "SW-MIDLOW",
        "中低收入戶資格申請",
        "社會救助",
        20,
        0,
        DO,
        T,
        "online",
        "家庭總收入平均每人每月未超過最低生活費1.5倍者,申請中低收入戶資格。",
    ),
    (
        "社會局",
        "SW-EMERG",
        "急難救助申請",
        "社會救助",
        7,
        0,
        DO,
        A,
        "online",
        "遭遇急難或重大變故致生活陷於困境者,申請急難救助金。",
    ),
    (
        "社會局",
        "SW-FUNERAL",
        "低收入戶喪葬補助",
        "社會救助",
        10,
        0,
        DO,
        T,
        "online",
        "低收入戶成員死亡,申請喪葬補助費用。",
    ),
    (
        "社會局",
        "SW-DISAB",
        "身心障礙者生活補助",
        "身心障礙福利",
        30,
        0,
        DO,
        T,
        "online",
        "領有身心障礙證明且符合資格者,申請生活補助。",
    ),
    (
        "社會局",
        "SW-ELDER",
        "重陽敬老禮金",
        "老人福利",
        10,
        0,
        DO,
        A,
        "online",
        "年滿65歲設籍本市之長者,申請重陽敬老禮金。",
    ),
    (
        "社會局",
        "SW-CHILD",
        "育兒津貼申請",
        "兒童及少年福利",
        15,
        0,
        DO,
        T,
        "online",
        "育有未滿二歲幼兒之家庭,申請育兒津貼。",
    ),
    (
        "社會局",
        "SW-BIRTH",
        "生育津貼申請",
        "兒童及少年福利",
        15,
        0,
        DO,
        T,
        "online",
        "新生兒出生登記於本市者,父或母申請生育津貼。",
    ),
    (
        "民政局",
        "CA-VILLHALL",
        "里民活動中心場地借用",
        "場地借用",
        5,
        500,
        DO,
        N,
        "online",
        "借用里民活動中心辦理社區活動。",
    ),
    ("民政局", "CA-DRAFT", "役男出境申請", "兵役", 3, 0, DO, A, "online", "役齡男子申請出境核准。"),
    ("民政局", "CA-DEFER", "役男緩徵申請", "兵役", 7, 0, DO, T, "online", "在學役男申請緩徵。"),
    ("民政局", "CA-ALTSVC", "替代役申請", "兵役", 10, 0, DO, T, "online", "符合資格之役男申請服替代役。"),
    (
        "民政局",
        "CA-TRANSCRIPT",
        "戶籍謄本申請",
        "戶政",
        1,
        15,
        HRO,
        A,
        "store",
        "申請本人或全戶之戶籍謄本,可於超商列印繳費。",
    ),
    (
        "民政局",
        "CA-SEAL",
        "印鑑證明申請",
        "戶政",
        1,
        20,
        HRO,
        A,
        "counter",
        "申請印鑑證明,須本人親自至戶政事務所臨櫃辦理。",
    ),
    (
        "民政局",
        "CA-FUNERAL",
        "殯葬設施使用申請(火化、納骨塔)",
        "殯葬",
        3,
        3000,
        "",
        N,
        "online",
        "申請使用市立殯葬設施,含火化及納骨塔位。",
    ),
    (
        "工務局",
        "PW-DIG",
        "道路挖掘許可申請",
        "道路",
        7,
        1000,
        "",
        N,
        "online",
        "因管線施工須挖掘道路者,申請挖掘許可。",
    ),
    ("工務局", "PW-LAMP", "路燈故障報修", "道路", 3, 0, "", N, "online", "路燈不亮或閃爍,申請派員維修。"),
    (
        "工務局",
        "PW-PERMIT",
        "建築執照申請",
        "建築管理",
        30,
        5000,
        "",
        N,
        "counter",
        "新建、增建、改建建築物,申請建築執照。",
    ),
    (
        "環境保護局",
        "EP-BULKY",
        "大型廢棄物清運申請",
        "環境衛生",
        5,
        0,
        "",
        N,
        "online",
        "家具、家電等大型廢棄物,預約清運。",
    ),
    ("環境保護局", "EP-NOISE", "噪音陳情", "環境衛生", 6, 0, "", N, "online", "受噪音干擾,陳情派員稽查。"),
    (
        "環境保護局",
        "EP-VACANT",
        "空地空屋環境清潔輔導",
        "環境衛生",
        10,
        0,
        "",
        N,
        "online",
        "鄰近空地雜草叢生、堆積廢棄物,申請輔導清理。",
    ),
    (
        "交通局",
        "TR-DISPARK",
        "身心障礙者專用停車位識別證",
        "停車",
        7,
        0,
        DO,
        A,
        "online",
        "身心障礙者或其家屬,申請專用停車位識別證。",
    ),
    (
        "交通局",
        "TR-RESPARK",
        "住宅區停車證申請",
        "停車",
        10,
        300,
        "",
        N,
        "online",
        "設籍住宅區之居民申請路邊停車證。",
    ),
    (
        "地政局",
        "LA-TRANSCRIPT",
        "土地登記謄本申請",
        "地政",
        1,
        20,
        "",
        N,
        "store",
        "申請土地或建物登記謄本,可於超商列印。",
    ),
    (
        "地政局",
        "LA-VALUE",
        "公告地價複查申請",
        "地政",
        20,
        0,
        "",
        N,
        "online",
        "對公告地價有異議者,申請複查。",
    ),
    (
        "教育局",
        "ED-SCHOLAR",
        "清寒學生獎助學金",
        "教育",
        20,
        0,
        "",
        N,
        "online",
        "設籍本市之清寒學生,申請獎助學金。",
    ),
    (
        "勞動局",
        "LB-DISPUTE",
        "勞資爭議調解申請",
        "勞動",
        20,
        0,
        "",
        N,
        "online",
        "勞資雙方發生爭議,申請調解。",
    ),
    (
        "勞動局",
        "LB-JOBSUB",
        "就業促進津貼申請",
        "勞動",
        15,
        0,
        "",
        N,
        "online",
        "非自願離職者參加職業訓練,申請津貼。",
    ),
    (
        "衛生局",
        "HE-CARE",
        "長期照顧服務申請",
        "長照",
        10,
        0,
        DO,
        T,
        "online",
        "失能長者或身心障礙者,申請長期照顧服務。",
    ),
    (
        "衛生局",
        "HE-VACC",
        "幼兒常規疫苗接種紀錄補發",
        "衛生",
        5,
        0,
        Agency.Kind.HEALTH_CENTRE,
        A,
        "online",
        "申請補發兒童預防接種紀錄卡。",
    ),
    (
        "青年事務局",
        "YA-RENT",
        "青年租屋補貼申請",
        "住宅",
        30,
        0,
        "",
        N,
        "online",
        "年滿20歲至40歲之青年,申請租金補貼。",
    ),
    (
        "消防局",
        "FD-INSPECT",
        "消防安全設備檢修申報",
        "消防",
        15,
        0,
        "",
        N,
        "online",
        "建築物管理權人申報消防安全設備檢修結果。",
    ),
    (
        "客家事務局",
        "HK-CULTURE",
        "客家文化活動補助",
        "文化",
        30,
        0,
        "",
        N,
        "online",
        "辦理客家文化活動之團體,申請經費補助。",
    ),
    (
        "原住民族行政局",
        "IP-HOUSE",
        "原住民族建購住宅補助",
        "住宅",
        30,
        0,
        "",
        N,
        "online",
        "設籍本市原住民,申請建購住宅補助。",
    ),
]
PURPOSES = ["本人使用", "辦理社會福利", "就學", "就業", "其他"]
DEMO_DELAY = datetime.timedelta(minutes=1)


def form_for(item: ServiceItem, *, with_attachment: bool = True) -> tuple[dict, dict]:
    """The demo form of an item: applicant details (prefilled with consent), purpose, delivery with a
    conditional mailing address, and a supporting document for items that need one."""
    properties = {
        "applicant_name": {"type": "string", "title": "申請人姓名", "minLength": 1, "maxLength": 60},
        "phone": {"type": "string", "title": "聯絡電話", "pattern": "^0[0-9-]{8,11}$",
                  "x-error": "請輸入市話或手機號碼,例如 0912-345678"},
        "email": {"type": "string", "title": "電子郵件", "format": "email"},
        "address": {"type": "string", "title": "戶籍地址", "maxLength": 200},
        "purpose": {"type": "string", "title": "申請用途", "enum": PURPOSES},
        "purpose_other": {"type": "string", "title": "其他用途說明", "maxLength": 200},
        "copies": {"type": "integer", "title": "份數", "minimum": 1, "maximum": 10, "default": 1},
        "delivery": {"type": "string", "title": "領取方式", "enum": ["臨櫃領取", "郵寄"]},
        "mailing_address": {"type": "string", "title": "郵寄地址", "maxLength": 200},
        "note": {"type": "string", "title": "備註", "maxLength": 500},
    }  # fmt: skip
    required = ["applicant_name", "phone", "purpose", "delivery"]
    sections = [
        {"title": "申請人資料", "fields": ["applicant_name", "phone", "email", "address"]},
        {
            "title": "申請內容",
            "fields": ["purpose", "purpose_other", "copies", "delivery", "mailing_address", "note"],
        },
    ]
    if with_attachment:
        properties["supporting_document"] = {
            "type": "string", "format": "attachment", "title": "證明文件(PDF、JPG 或 PNG,5 MB 以內)",
            "x-accept": ["pdf", "jpeg", "png"], "x-max-bytes": 5 * 1024 * 1024,
        }  # fmt: skip
        required.append("supporting_document")
        sections.append({"title": "附件", "fields": ["supporting_document"]})
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": item.name,
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        "allOf": [
            {"if": {"properties": {"purpose": {"const": "其他"}}, "required": ["purpose"]},
             "then": {"required": ["purpose_other"]}},
            {"if": {"properties": {"delivery": {"const": "郵寄"}}, "required": ["delivery"]},
             "then": {"required": ["mailing_address"]}},
        ],
    }  # fmt: skip
    layout = {
        "sections": sections,
        "prefill": {"applicant_name": "person.name", "phone": "person.phone", "email": "person.email",
                    "address": "person.address"},
    }  # fmt: skip
    return schema, layout


def blank_form_pdf(title: str) -> bytes:
    """A one-page blank application form (real PDF, Chinese in the platform's PDF font)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from civicstack.core.pdf_fonts import cjk_font

    font = cjk_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    pdf.setFont(font, 18)
    pdf.drawCentredString(width / 2, height - 72, f"{title} 申請書")
    pdf.setFont(font, 12)
    y = height - 130
    for label in (
        "申請人姓名",
        "身分證統一編號",
        "出生日期",
        "戶籍地址",
        "聯絡電話",
        "申請用途",
        "申請份數",
        "申請人簽章",
    ):
        pdf.drawString(72, y, f"{label}:")
        pdf.line(180, y - 2, width - 72, y - 2)
        y -= 40
    pdf.drawString(72, 90, "中華民國      年      月      日")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _bureau(short: str) -> Agency | None:
    return Agency.objects.filter(name_zh__endswith=short, kind=Agency.Kind.FIRST_LEVEL).first()


def ensure_catalog() -> list[ServiceItem]:
    items = []
    for short, code, name, category, days, fee, office_kind, cross, channel, description in CATALOG:
        existing = ServiceItem.objects.filter(code=code).first()
        if existing is not None:
            items.append(existing)
            continue
        agency = _bureau(short) or Agency.objects.filter(kind=Agency.Kind.CITY_GOVERNMENT).first()
        item = services.item_create(actor=None, data=services.ItemInput(
            agency=agency, code=code, name=name, category=category, time_limit_days=days, fee=fee,
            office_kind=office_kind, cross_district=cross, channel=channel, description=description,
            eligibility=description.split(",")[0], required_documents="國民身分證正本\n相關證明文件影本",
        ))  # fmt: skip
        schema, layout = form_for(
            item, with_attachment=code not in ("PW-LAMP", "EP-BULKY", "EP-NOISE", "CA-TRANSCRIPT")
        )
        services.form_definition_create(actor=None, item=item, schema=schema, layout=layout)
        blank = BlankForm(item=item, title=f"{name}申請書", content_type="application/pdf", size=0)
        content = blank_form_pdf(name)
        blank.size = len(content)
        blank.file.save(f"{code}.pdf", ContentFile(content), save=False)
        blank.save()
        items.append(item)
    return items


def _answers(person: Person, rng: random.Random) -> dict:
    delivery = rng.choice(["臨櫃領取", "郵寄"])
    answers = {"applicant_name": person.name, "phone": f"09{rng.randrange(10**8):08d}", "purpose": rng.choice(PURPOSES[:4]),
               "copies": rng.randint(1, 3), "delivery": delivery, "address": person.address}  # fmt: skip
    if delivery == "郵寄":
        answers["mailing_address"] = person.address or "桃園市桃園區縣府路1號"
    return answers


def _tiny_pdf() -> ContentFile:
    return ContentFile(blank_form_pdf("證明文件"), name="證明文件.pdf")


def _demo_user_for(person: Person) -> User:
    if person.user_id:
        return person.user
    user, _ = User.objects.get_or_create(
        username=f"eservices-demo-{person.pk}", defaults={"first_name": person.name}
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    person.user = user
    person.save(update_fields=["user"])
    return user


def _make_application(
    item, user, person, rng, *, receiving_office=None, steps=(), clerk=None, supplement=True
):
    form = services.current_form(item)
    files = {}
    if "supporting_document" in form.schema["properties"]:
        files["supporting_document"] = _tiny_pdf()
    application = services.application_draft_save(actor=user, item=item, answers=_answers(person, rng), files=files,
                                                  receiving_office=receiving_office, prefill_consent=True)  # fmt: skip
    application = services.application_submit(actor=user, application=application)
    for step in steps:
        if step == "supplement" and supplement:
            application = services.application_supplement(actor=user, application=application, answers={},
                                                          note="已補附最新證明文件。",
                                                          files={"supporting_document": _tiny_pdf()}
                                                          if files else {})  # fmt: skip
            continue
        if step == "pay":
            from civicstack.payments import services as payments

            payments.payment_order_settle(actor=None, order_number=application.payment_order.number,
                                          channel="convenience_store", amount=application.fee,
                                          external_reference=f"demo-{application.number}")  # fmt: skip
            application.refresh_from_db()
            continue
        reason = {"request_supplement": "請補附三個月內之證明文件。", "reject": "經審核不符申請資格。"}.get(
            step, ""
        )
        application = services.application_transition(
            actor=clerk, application=application, action=step, reason=reason
        )
    return application


def generate_small(rng: random.Random) -> dict:
    items = ensure_catalog()
    if Application.objects.exists():
        return {"items": ServiceItem.objects.count(), "applications": Application.objects.count()}
    by_code = {item.code: item for item in items}
    districts = list(District.objects.all())
    taoyuan = districts[0]
    offices = {a.district_id: a for a in Agency.objects.filter(kind=DO)}
    citizen = User.objects.filter(username="citizen").first()
    citizen_person = Person.objects.filter(user=citizen).first() if citizen else None
    made = 0
    if citizen_person is not None:
        clerk = User.objects.filter(username="clerk").first()
        home_clerk = (
            clerk
            if clerk
            and StaffRole.objects.filter(user=clerk, agency=offices.get(citizen_person.district_id)).exists()
            else None
        )
        _make_application(by_code["SW-CHILD"], citizen, citizen_person, rng, receiving_office=offices[taoyuan.pk],
                          steps=["receive", "review"], clerk=home_clerk)  # fmt: skip
        _make_application(by_code["SW-DISAB"], citizen, citizen_person, rng,
                          steps=["receive", "request_supplement"], clerk=home_clerk)  # fmt: skip
        _make_application(
            by_code["CA-TRANSCRIPT"],
            citizen,
            citizen_person,
            rng,
            steps=["pay", "receive", "approve", "complete"],
        )
        _make_application(by_code["PW-LAMP"], citizen, citizen_person, rng)
        made += 4
    adults = (Person.objects.filter(birth_date__lte=datetime.date(2006, 1, 1)).exclude(user__username="citizen")
              .select_related("district").order_by("id"))  # fmt: skip
    # Half of them from the demo clerk's district (the second), so the demo inbox has cases to show.
    clerk_district = districts[1] if len(districts) > 1 else districts[0]
    people = list(adults.filter(district=clerk_district)[:20]) + list(
        adults.exclude(district=clerk_district)[:40]
    )
    plans = [[], ["receive"], ["receive", "review"], ["receive", "request_supplement"],
             ["receive", "request_supplement", "supplement", "approve"], ["receive", "review", "approve", "complete"],
             ["receive", "reject"]]  # fmt: skip
    online = [item for item in items if item.applies_online and not item.fee]
    for index, person in enumerate(people[: SCALES["small"] - made]):
        item = online[index % len(online)]
        user = _demo_user_for(person)
        receiving = None
        if (
            item.office_kind
            and item.cross_district != ServiceItem.CrossDistrict.NOT_ALLOWED
            and rng.random() < 0.3
        ):
            candidates = list(
                Agency.objects.filter(kind=item.office_kind).exclude(district_id=person.district_id)
            )
            receiving = rng.choice(candidates) if candidates else None
        try:
            _make_application(
                item, user, person, rng, receiving_office=receiving, steps=plans[index % len(plans)]
            )
        except services.RoutingRefused:
            continue
        made += 1
    return {"items": len(items), "applications": Application.objects.count()}


# --- seed ---------------------------------------------------------------------------------------

SEED_SUFFIXES = [
    "申請",
    "變更申請",
    "補發申請",
    "註銷申請",
    "展延申請",
    "證明申請",
    "查詢",
    "陳情",
    "補助申請",
    "登記",
]
SEED_TOPICS = ["公有場地", "社區發展", "環境清潔", "道路維護", "公園管理", "路燈維修", "民俗活動", "文化資產", "運動設施",
               "藝文活動", "資源回收", "水溝清疏", "行道樹", "停車場", "攤販管理", "廣告物", "建物使用", "農業補助",
               "漁業證照", "動物保護", "公寓大廈", "消防安全", "治安維護", "交通號誌", "騎樓整平", "違章建築",
               "原住民族", "客家文化", "新住民", "青年創業", "勞工權益", "職業訓練", "托育服務", "老人福利", "身障福利",
               "婦女福利", "兒少保護", "學校場地", "圖書借閱", "體育場館", "地籍資料", "地價評議", "都市計畫", "水利設施",
               "觀光活動", "國家賠償", "法律扶助"]  # fmt: skip


def _seed_agencies() -> list[Agency]:
    chosen = list(Agency.objects.filter(kind=Agency.Kind.FIRST_LEVEL).order_by("code"))
    chosen += list(Agency.objects.filter(kind=DO).order_by("code"))
    chosen += list(Agency.objects.filter(kind=Agency.Kind.LAND_OFFICE).order_by("code"))
    return chosen[:SEED_AGENCIES]


def seed_catalog(rng: random.Random) -> list[ServiceItem]:
    ensure_catalog()
    agencies = _seed_agencies()
    existing = ServiceItem.objects.count()
    template = FormDefinition.objects.order_by("id").first()
    new_items = []
    for index in range(existing, SEED_ITEMS):
        agency = agencies[index % len(agencies)]
        topic = SEED_TOPICS[(index // len(agencies)) % len(SEED_TOPICS)]
        name = f"{topic}{SEED_SUFFIXES[index % len(SEED_SUFFIXES)]}"
        district_kind = agency.kind == DO and rng.random() < 0.8
        item = ServiceItem(
            agency=agency, code=f"SEED-{index:04d}", name=name, category=topic, description=f"{agency.name_zh}受理{name}。",
            eligibility="設籍或居住本市之民眾", required_documents="申請書、身分證明文件", fee=rng.choice([0, 0, 0, 50, 100]),
            time_limit_days=rng.choice([3, 5, 7, 10, 15, 20, 30]), office_kind=DO if district_kind else "",
            cross_district=rng.choice([T, A]) if district_kind else N, channel=rng.choice(["online", "online", "store", "counter"]),
        )  # fmt: skip
        item.search_tokens = " ".join(
            search.tokens(" ".join([name, name, topic, item.description, agency.name_zh]))
        )
        new_items.append(item)
    ServiceItem.objects.bulk_create(new_items, batch_size=500)
    items = list(ServiceItem.objects.filter(code__startswith="SEED-").exclude(form_versions__isnull=False))
    FormDefinition.objects.bulk_create(
        [FormDefinition(item=item, version=1, schema=template.schema, layout=template.layout, is_published=True,
                        published_at=timezone.now()) for item in items], batch_size=500)  # fmt: skip
    return list(ServiceItem.objects.all())


def generate_seed(rng: random.Random, progress_factory=None, *, applications: int = SCALES["seed"]) -> dict:
    items = seed_catalog(rng)
    target = applications
    existing = Application.objects.count()
    if existing >= target:
        return {"items": len(items), "applications": existing}
    forms = dict(FormDefinition.objects.filter(is_published=True).values_list("item_id", "id"))
    items = [item for item in items if item.pk in forms]
    district_offices = {a.district_id: a.pk for a in Agency.objects.filter(kind=DO)}
    office_ids = list(district_offices.values())
    people = list(Person.objects.order_by("id").values_list("id", "district_id", "name")[:200_000])
    now = timezone.now()
    today = timezone.localdate()
    states = [(Application.State.COMPLETED, 55), (Application.State.APPROVED, 12), (Application.State.REJECTED, 5),
              (Application.State.WITHDRAWN, 3), (Application.State.IN_REVIEW, 8), (Application.State.RECEIVED, 7),
              (Application.State.SUBMITTED, 6), (Application.State.SUPPLEMENT_REQUESTED, 4)]  # fmt: skip
    state_names, weights = zip(*states, strict=True)
    bar = progress_factory(target - existing) if progress_factory else None
    due_cache: dict[tuple, datetime.date] = {}
    serial = existing
    while serial < target:
        rows = []
        for _ in range(min(BATCH, target - serial)):
            serial += 1
            item = items[rng.randrange(len(items))]
            person_id, district_id, name = people[rng.randrange(len(people))]
            submitted = now - datetime.timedelta(days=rng.random() * 365)
            handling = receiving = item.agency_id
            if item.office_kind == DO:
                handling = receiving = district_offices.get(district_id, item.agency_id)
                if item.cross_district != N and rng.random() < 0.18:
                    receiving = rng.choice(office_ids)
                    if item.cross_district == A:
                        handling = receiving
            state = rng.choices(state_names, weights)[0]
            key = (submitted.date(), item.time_limit_days)
            if key not in due_cache:
                due_cache[key] = working_days.add_working_days(submitted.date(), item.time_limit_days)
            rows.append(Application(
                number=f"S{submitted:%y%m%d}{serial:07d}", item_id=item.pk, form_id=forms[item.pk],
                applicant_person_id=person_id, applicant_name=name, data={"applicant_name": name, "purpose": "本人使用"},
                receiving_office_id=receiving, handling_office_id=handling,
                is_cross_district=receiving != handling or (item.office_kind == DO and receiving != district_offices.get(district_id)),
                state=state, submitted_at=submitted, due_date=due_cache[key], fee=item.fee, created_at=submitted,
                decided_at=submitted + datetime.timedelta(days=3) if state in ("approved", "rejected", "completed") else None,
            ))  # fmt: skip
        with transaction.atomic():
            Application.objects.bulk_create(rows, batch_size=1000)
        if bar:
            bar.update(len(rows))
    if bar:
        bar.close()
    audit_record(actor=None, action="eservices.demo_seeded", object_type="eservices.application",
                 data={"items": len(items), "applications": Application.objects.count(), "as_of": today.isoformat()})  # fmt: skip
    return {"items": ServiceItem.objects.count(), "applications": Application.objects.count()}


def generate(*, scale: str, seed: int = 2019, progress_factory=None) -> dict:
    rng = random.Random(seed + 6)
    with services.notifications_suppressed():
        result = generate_small(rng)
    if scale == "seed":
        result = generate_seed(rng, progress_factory)
    return result
