"""Demo knowledge of the chatbot, shaped like the report's (S06): the 1999-hotline FAQ of every
agency (2,000), online-application information (700), everyday-life Q&A (8,000) and the 7 venues
with robots. ``data/knowledge.json`` holds the hand-written entries the evaluation set asks about;
``corpus()`` adds entries generated from the city profile (agencies, districts, villages) up to the
report's size. ``small`` loads the hand-written entries, a few hundred generated ones, the catalog's
answers and some conversations; ``seed`` loads all 10,700.
"""

import json
import random
from dataclasses import dataclass

from django.db import transaction

from civicstack.core.city_profile import profile_path, read_profile
from civicstack.core.models import Agency

from . import services, text
from .models import Conversation, Entry, KnowledgeBase, Turn, Venue

HOTLINE, LIFE, VENUES, APPLICATIONS = "hotline-faq", "life-qa", "venues", "application-info"
BASES = {
    HOTLINE: ("1999市民熱線常見問答", "The 1999 hotline's FAQ of every agency."),
    LIFE: ("生活大小事問答", "Everyday-life questions."),
    VENUES: ("場館問答", "Questions asked at the venues with robots."),
    APPLICATIONS: ("申辦項目資訊", "Application information (imported)."),
}
TARGETS = {HOTLINE: 2_000, APPLICATIONS: 700, LIFE: 8_000}
SMALL_GENERATED = 300
VENUE_AGENCY = {"hr-taoyuan": ("household_registration_office", "桃園區"),
                "hr-zhongli": ("household_registration_office", "中壢區")}  # fmt: skip

AGENCY_TEMPLATES = [
    ("{a}地址在哪裡", "{a}位於{addr}。"),
    ("{a}電話幾號", "{a}總機電話：{phone}。"),
    ("{a}上班時間", "{a}服務時間為週一至週五上午8時至下午5時。"),
    ("{a}首長是誰", "{a}首長資訊請見機關網站。"),
    ("{a}業務職掌", "{a}掌理之業務請見機關網站組織職掌頁面。"),
    ("{a}徵才資訊", "{a}徵才公告刊登於市政府人事處徵才專區。"),
    ("{a}採購公告", "{a}採購案件公告於政府電子採購網。"),
    ("{a}政府資訊公開", "{a}依政府資訊公開法主動公開之資訊請見機關網站。"),
    ("{a}停車資訊", "洽公民眾可利用{a}附近之公有停車場。"),
    ("{a}無障礙設施", "{a}設有無障礙坡道、電梯與無障礙廁所。"),
    ("{a}陳情案件進度查詢", "陳情案件進度可至市政府陳情系統以案號查詢，或撥打1999。"),
    ("{a}個資保護窗口", "{a}個人資料保護聯絡窗口請見機關網站隱私權政策。"),
    ("{a}英文名稱", "{a}英文名稱：{en}。"),
    ("{a}組織架構", "{a}組織架構圖請見機關網站。"),
    ("{a}新聞稿", "{a}新聞稿發布於市政府新聞專區。"),
    ("{a}預算與決算", "{a}預算書與決算書公開於機關網站。"),
    ("{a}施政計畫", "{a}年度施政計畫公開於機關網站。"),
    ("{a}傳真號碼", "{a}傳真號碼請見機關網站聯絡資訊。"),
    ("{a}電子信箱", "可透過{a}首長信箱或1999與{a}聯繫。"),
    ("{a}交通方式", "前往{a}可搭乘公車或開車，地址：{addr}。"),
]
VILLAGE_TEMPLATES = [
    ("{d}{v}辦公處在哪裡", "{d}{v}辦公處地址請洽{d}公所民政課。"),
    ("{d}{v}里長電話", "{d}{v}里長聯絡電話請見{d}公所網站。"),
    ("{d}{v}垃圾車時間", "{d}{v}垃圾車收運時間請查詢環保局垃圾車路線或撥打1999。"),
    ("{d}{v}活動中心借用", "{d}{v}活動中心借用請向里辦公處登記。"),
    ("{d}{v}資源回收日", "{d}{v}資源回收日為每週一、五。"),
    ("{d}{v}投票所在哪裡", "{d}{v}投票所位置於選舉公報公告。"),
    ("{d}{v}社區巡守隊", "{d}{v}社區巡守隊由里辦公處召集。"),
    ("{d}{v}守望相助", "{d}{v}守望相助隊請洽里辦公處。"),
    ("{d}{v}避難收容處所", "{d}{v}避難收容處所請見區公所防災地圖。"),
    ("{d}{v}老人共餐", "{d}{v}長者共餐據點請洽里辦公處或社會局。"),
    ("{d}{v}淹水潛勢", "{d}{v}淹水潛勢圖請見水務局網站。"),
    ("{d}{v}公園在哪裡", "{d}{v}附近公園請見工務局公園地圖。"),
    ("{d}{v}社區發展協會", "{d}{v}社區發展協會聯絡方式請洽區公所。"),
    ("{d}{v}路燈報修", "{d}{v}路燈故障請撥打1999並告知路燈編號。"),
    ("{d}{v}里民大會", "{d}{v}里民大會時間由里辦公處公告。"),
    ("{d}{v}防疫消毒", "{d}{v}環境消毒請洽{d}衛生所。"),
]
APPLICATION_TOPICS = ["公有場地", "社區發展", "環境清潔", "道路維護", "公園管理", "路燈維修", "民俗活動", "文化資產",
                      "運動設施", "藝文活動", "水溝清疏", "行道樹", "攤販管理", "廣告物", "建物使用", "農業補助", "漁業證照",
                      "動物保護", "公寓大廈", "消防安全", "交通號誌", "騎樓整平", "原住民族", "客家文化", "勞工權益",
                      "職業訓練", "婦女福利", "兒少保護", "學校場地", "體育場館", "地籍資料", "地價評議", "都市計畫",
                      "水利設施", "觀光活動", "國家賠償", "法律扶助"]  # fmt: skip
APPLICATION_SUFFIXES = ["申請", "變更申請", "補發申請", "註銷申請", "展延申請", "證明申請", "許可申請", "補助申請",
                        "登記", "查詢", "異議申請", "退費申請", "核定申請", "備查申請", "租借申請", "撤銷申請",
                        "延期申請", "複查申請", "換證申請"]  # fmt: skip


@dataclass
class Row:
    external_id: str
    knowledge_base: str
    question: str
    answer: str
    category: str = ""
    phrasings: tuple = ()
    venue: str = ""
    language: str = "zh-hant"
    translation_of: str = ""
    agency: str = ""


def shipped() -> dict:
    return json.loads((text.DATA / "knowledge.json").read_text(encoding="utf-8"))


def corpus(total: int | None = None) -> tuple[list[dict], list[Row]]:
    """The venues and the entries of the demo knowledge: the hand-written ones, then generated ones
    (hotline FAQ, application information, life Q&A) up to the report's sizes, or ``total`` entries."""
    data = shipped()
    rows = [Row(e["external_id"], e["knowledge_base"], e["question"], e["answer"], e["category"], tuple(e["phrasings"]),
                e["venue"], e["language"], e["translation_of"]) for e in data["entries"]]  # fmt: skip
    profile = read_profile(profile_path())
    counts = {base: sum(1 for r in rows if r.knowledge_base == base) for base in TARGETS}
    generated: dict[str, list[Row]] = {base: [] for base in TARGETS}
    for t, (question, answer) in enumerate(AGENCY_TEMPLATES):
        for n, agency in enumerate(profile["agencies"]):
            fields = {"a": agency["name_zh"], "addr": agency.get("address") or "請見機關網站",
                      "phone": agency.get("phone") or "請撥1999", "en": agency.get("name_en", "")}  # fmt: skip
            generated[HOTLINE].append(Row(f"FAQ-{t + 1:02d}-{n + 1:03d}", HOTLINE, question.format(**fields),
                                          answer.format(**fields), "機關資訊", agency=agency["code"]))  # fmt: skip
    agencies = [a for a in profile["agencies"] if a["kind"] in ("first_level", "district_office")]
    n = 0
    for suffix in APPLICATION_SUFFIXES:
        for topic in APPLICATION_TOPICS:
            agency = agencies[n % len(agencies)]
            name = f"{topic}{suffix}"
            generated[APPLICATIONS].append(Row(
                f"AI-{n + 1:04d}", APPLICATIONS, f"{name}怎麼辦理", f"{name}由{agency['name_zh']}受理，應備申請書及身分證明文件。",
                topic, (f"{name}要準備什麼",), agency=agency["code"]))  # fmt: skip
            n += 1
    villages = [(d["name_zh"], v["name_zh"]) for d in profile["districts"] for v in d["villages"]]
    for t, (question, answer) in enumerate(VILLAGE_TEMPLATES):
        for n, (district, village) in enumerate(villages):
            fields = {"d": district, "v": village}
            generated[LIFE].append(Row(f"LQ-{t + 1:02d}-{n + 1:03d}", LIFE, question.format(**fields),
                                       answer.format(**fields), "里鄰生活"))  # fmt: skip
    for base, target in TARGETS.items():
        rows.extend(generated[base][: max(target - counts[base], 0)])
    if total is not None:
        hand_written = len(data["entries"])
        rows = rows[:hand_written] + rows[hand_written:][: max(total - hand_written, 0)]
    return data["venues"], rows


# --- loading into the database ---------------------------------------------------------------------


@transaction.atomic
def load(*, total: int | None = None) -> int:
    """Create the venues, bases and entries (bulk, without per-entry audit events) that are missing."""
    venues_data, rows = corpus(total)
    agencies = {a.code: a for a in Agency.objects.all()}
    for venue in venues_data:
        kind_district = VENUE_AGENCY.get(venue["code"])
        agency = (
            Agency.objects.filter(kind=kind_district[0], district__name_zh=kind_district[1]).first()
            if kind_district
            else Agency.objects.filter(kind="city_government").first()
        )
        Venue.objects.get_or_create(code=venue["code"], defaults={
            "name": venue["name"], "name_en": venue["name_en"], "counter": venue["counter"], "agency": agency})  # fmt: skip
    venues = {v.code: v for v in Venue.objects.all()}
    bases = {}
    for key, (name, description) in BASES.items():
        bases[key], _ = KnowledgeBase.objects.get_or_create(
            key=key, defaults={"name": name, "description": description}
        )
    existing = set(Entry.objects.values_list("external_id", flat=True))
    new = [r for r in rows if r.external_id not in existing]
    made = {}
    for row in new:  # originals before their translations, so translation_of resolves
        made[row.external_id] = Entry(
            external_id=row.external_id, knowledge_base=bases[row.knowledge_base], question=row.question,
            answer=row.answer, category=row.category, phrasings="\n".join(row.phrasings),
            venue=venues.get(row.venue), language=row.language, agency=agencies.get(row.agency),
        )  # fmt: skip
    Entry.objects.bulk_create([made[r.external_id] for r in new if not r.translation_of], batch_size=2_000)
    originals = {
        e.external_id: e for e in Entry.objects.filter(external_id__in=[r.translation_of for r in new])
    }
    translations = []
    for row in new:
        if row.translation_of:
            made[row.external_id].translation_of = originals.get(row.translation_of)
            translations.append(made[row.external_id])
    Entry.objects.bulk_create(translations, batch_size=2_000)
    if new:
        services._bump_index_version()
    return len(new)


SAMPLE_QUESTIONS = [
    ("身分證掉了要怎麼辦", "", None),
    ("市民咔可以坐公車嗎", "", True),
    ("廁所在哪", "cityhall", True),
    ("請問我的電話0912345678可以收到通知嗎", "", None),
    ("垃圾車幾點到", "", True),
    ("請問狗狗晶片怎麼植入", "", False),
    ("停車費的收據可以補印嗎", "", False),
    ("停車費的收據可以補嗎", "", False),
    ("小孩的預防針要去哪裡打", "", True),
    ("你好", "", None),
    ("台北市的垃圾車時間", "", None),
    ("罰單開錯了", "traffic", True),
    ("罰單寄錯地址", "traffic", False),
    ("where is the toilet", "cityhall", None),
    ("I lost my ID card", "", True),
    ("狗狗晶片在哪裡打", "", False),
]


def generate(*, scale: str, seed: int = 2019, progress_factory=None) -> dict:
    rng = random.Random(seed)
    created = load(total=None if scale == "seed" else len(shipped()["entries"]) + SMALL_GENERATED)
    synced = services.catalog_sync()
    if not Turn.objects.exists():
        for question, venue_code, helpful in SAMPLE_QUESTIONS * (1 if scale == "small" else 20):
            venue = Venue.objects.filter(code=venue_code).first() if venue_code else None
            answer = services.question_ask(question=question, venue=venue, channel=(
                Conversation.Channel.ROBOT if venue else Conversation.Channel.WEB))  # fmt: skip
            if helpful is not None and answer.entries and rng.random() < 0.9:
                services.feedback_record(conversation_id=answer.conversation.public_id, turn_id=answer.turn.pk,
                                         helpful=helpful)  # fmt: skip
    return {"entries": Entry.objects.count(), "created": created, "catalog_answers": synced.created,
            "questions": Turn.objects.count()}  # fmt: skip
