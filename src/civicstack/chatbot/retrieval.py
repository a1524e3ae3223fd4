"""Retrieval: which entries answer a question, and how sure we are.

Method (docs/chatbot.md explains the why and the measurements):

* every entry's question and alternative phrasings are normalised (``text.normalize``), expanded with
  the official terms of the colloquial phrases in them (``text.expand``, the synonym lexicon) and
  indexed twice with BM25 (bm25s): once as jieba words (Traditional dictionary + municipal glossary),
  once as character bigrams (function phrases blanked), which survive typos and unknown words;
* a question goes through the same steps, minus generic words (市政府, 桃園市) when it has others;
* a question is scored against both; each score is divided by the query's own weight (the sum of
  its terms' IDF, unknown terms counting as the rarest), which turns BM25 into "how much of what
  was asked this entry covers", comparable between questions;
* entries of the venue the question was asked at get a bonus, other venues' entries a penalty;
* the best 30 are reranked by the reverse coverage: how much of the entry's own question (or of
  one of its phrasings) the question covers, so "垃圾車時間" prefers the city-wide entry over
  "桃園區文化里垃圾車時間", and "iPhone多少錢" does not look like "游泳多少錢"; an entry about a
  district or village the question does not name is penalised (city-wide answers first);
* the confidence of a candidate is a logistic function of its coverage and its lead over the best
  other candidate, fitted on the calibration half of the evaluation set (``bench/chatbot.py
  --calibrate``); it reads as "probability that this is the right answer";
* questions about other cities, and chit-chat or off-topic subjects with no municipal term in them,
  are out of scope.

English questions are matched against English entries (translations of Chinese ones); a Chinese
question asked with ``lang="en"`` answers with the English translation of the entry when there is one.
"""

import json
import logging
import math
import re
import threading
from dataclasses import dataclass, field

import bm25s
import numpy as np

from . import text

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

K1, B = 1.2, 0.75
WORD_WEIGHT, BIGRAM_WEIGHT = 0.55, 0.45
VENUE_BONUS, OTHER_VENUE_PENALTY, NO_VENUE_PENALTY = 0.25, 0.35, 0.15
CANDIDATES = 3
RERANK = 30
REVERSE_WEIGHT = 0.5
OTHER_PLACE_PENALTY = 0.3
ANSWER_THRESHOLD = 0.5  # at or above: answer; below: suggestions and a hand-off
SUGGEST_THRESHOLD = 0.15  # below: only the hand-off

_CALIBRATION_FILE = text.DATA / "calibration.json"
_DEFAULT_CALIBRATION = {"slope": 9.0, "lead": 6.0, "intercept": -4.5}

OTHER_CITIES = re.compile(
    r"台北|臺北|北市|新北|基隆|新竹|苗栗|台中|臺中|彰化|南投|雲林|嘉義|台南|臺南|高雄|屏東|宜蘭|花蓮|台東|臺東|澎湖|金門|"
    r"連江|馬祖|taipei|new taipei|keelung|hsinchu|taichung|tainan|kaohsiung|yilan|hualien"
)
# Chit-chat: out of scope unless the question is confidently about something the city answers.
CHIT_CHAT = re.compile(
    r"你好|您好|哈囉|嗨|早安|午安|晚安|謝謝|掰掰|再見|你是誰|你叫什麼|你幾歲|你是機器人|機器人|講笑話|笑話|唱歌|天氣|下雨|"
    r"無聊|吃飯了嗎|吃飽|男朋友|女朋友|喜歡我|愛你|股票|樂透|彩券|星座|運勢|電影|好吃|推薦餐廳|nba|棒球比分|"
    r"\bhi\b|\bhello\b|who are you|joke|weather|how are you|thank"
)
# Topics no city answers (cooking, gadgets, finance, science, travel abroad, entertainment): a question
# naming one and nothing of the municipal vocabulary is out of scope, however well its other words match
# ("手機多少錢" is not about 游泳多少錢; "停車費可以用手機繳嗎" is about 停車費).
OFF_TOPIC = re.compile(
    r"股票|樂透|彩券|星座|運勢|電影|好吃|美食|餐廳|食譜|煮|料理|烹飪|手機|iphone|android|電腦|筆電|網購|比特幣|"
    r"加密貨幣|虛擬貨幣|匯率|基金|簽證|移民|出國|機票|量子|物理|化學|數學|作業|考題|小說|遊戲|電玩|明星|偶像|演唱會|"
    r"bitcoin|crypto|visa|recipe|\bcook|stock|movie|game"
)


HERE = re.compile(r"這裡|這邊|你們|貴單位|本處|本所|here|this office")


@dataclass
class Candidate:
    entry_id: int
    score: float  # calibrated confidence, 0–1
    coverage: float  # fused coverage the confidence was computed from


@dataclass
class Result:
    outcome: str  # answered | suggested | handoff | out_of_scope
    candidates: list[Candidate] = field(default_factory=list)
    language: str = "zh-hant"


@dataclass(frozen=True)
class Document:
    entry_id: int
    question: str
    phrasings: str
    venue_id: int | None
    language: str
    translation_of_id: int | None = None


def calibration() -> dict:
    if _CALIBRATION_FILE.exists():
        return json.loads(_CALIBRATION_FILE.read_text(encoding="utf-8"))
    return dict(_DEFAULT_CALIBRATION)


def confidence(coverage: float, lead: float, params: dict) -> float:
    """Logistic in the coverage and in the lead scaled by the coverage (a big lead of a poor match,
    as when nothing in the knowledge is about the question, says little)."""
    z = params["slope"] * coverage + params["lead"] * lead * max(coverage, 0.0) + params["intercept"]
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


class _Field:
    """One BM25 index (bm25s) over one tokenisation, plus the IDF of each term for coverage."""

    def __init__(self, corpus: list[list[str]]):
        self.size = len(corpus)
        self.model = bm25s.BM25(k1=K1, b=B)
        if self.size:
            self.model.index([tokens or [""] for tokens in corpus], show_progress=False)
        document_frequency: dict[str, int] = {}
        for tokens in corpus:
            for token in set(tokens):
                document_frequency[token] = document_frequency.get(token, 0) + 1
        self.idf = {
            t: math.log(1 + (self.size - df + 0.5) / (df + 0.5)) for t, df in document_frequency.items()
        }
        self.rarest = math.log(1 + (self.size + 0.5) / 0.5) if self.size else 1.0

    def reverse_coverage(self, texts: list[set[str]], query: set[str]) -> float:
        """The best share (by IDF) of one of the entry's texts that the query covers."""
        best = 0.0
        for grams in texts:
            total = sum(self.idf.get(g, self.rarest) for g in grams)
            if total:
                best = max(best, sum(self.idf.get(g, self.rarest) for g in grams & query) / total)
        return best

    def coverage(self, tokens: list[str]) -> np.ndarray:
        if not self.size or not tokens:
            return np.zeros(self.size)
        weight = sum(self.idf.get(token, self.rarest) for token in tokens)
        known = [token for token in tokens if token in self.idf]
        if not known:
            return np.zeros(self.size)
        return np.minimum(np.asarray(self.model.get_scores(known), dtype=float) / weight, 1.0)


class Index:
    """The in-memory index of every active entry; built once per knowledge version per process."""

    def __init__(self, documents: list[Document], version: str = ""):
        self.version = version
        self.calibration = calibration()
        chinese = [d for d in documents if d.language != "en"]
        english = [d for d in documents if d.language == "en"]
        self.chinese_ids = np.array([d.entry_id for d in chinese], dtype=np.int64)
        self.chinese_venues = np.array([d.venue_id or 0 for d in chinese], dtype=np.int64)
        self.chinese_questions = [text.normalize(d.question) for d in chinese]
        normalized = [text.normalize(f"{d.question}\n{d.phrasings}") for d in chinese]
        self.chinese_places = [text.places(n) for n in normalized]
        normalized = [text.expand(n) for n in normalized]
        self.chinese_texts = [
            [set(text.bigrams(text.content(line))) for line in n.splitlines() if line.strip()]
            for n in normalized
        ]
        self.words = _Field([text.words(n) for n in normalized])
        self.bigrams = _Field([text.bigrams(text.content(n)) for n in normalized])
        self.english_ids = np.array([d.entry_id for d in english], dtype=np.int64)
        self.english_venues = np.array([d.venue_id or 0 for d in english], dtype=np.int64)
        self.english_questions = [d.question.lower() for d in english]
        english_lines = [
            [text.english_words(line) for line in f"{d.question}\n{d.phrasings}".splitlines()]
            for d in english
        ]
        self.english = _Field([[w for line in lines for w in line] for lines in english_lines])
        self.english_texts = [[set(line) for line in lines if line] for lines in english_lines]
        self.translation = {d.translation_of_id: d.entry_id for d in english if d.translation_of_id}
        self.size = len(documents)

    def _venue_adjustment(
        self, venues: np.ndarray, venue_id: int | None, deictic: bool = False
    ) -> np.ndarray:
        if venue_id is None:
            return np.where(venues > 0, -NO_VENUE_PENALTY, 0.0)
        bonus = VENUE_BONUS * (2 if deictic else 1)  # "來這裡…", "你們…" at a venue is about the venue
        return np.where(venues == venue_id, bonus, np.where(venues > 0, -OTHER_VENUE_PENALTY, 0.0))

    def search(
        self,
        question: str,
        *,
        venue_id: int | None = None,
        language: str | None = None,
        scope_rules: bool = True,
    ) -> Result:
        """``scope_rules=False`` skips the out-of-scope rules and thresholds (calibration needs the
        candidates of out-of-scope questions too: they are the examples of what a wrong match scores)."""
        english_question = text.is_english(question)
        answer_language = language or ("en" if english_question else "zh-hant")
        normalized = text.normalize(question)
        if scope_rules and OTHER_CITIES.search(normalized) and "桃園" not in normalized:
            return Result("out_of_scope", language=answer_language)
        if english_question:
            ids, venues, questions, texts = (
                self.english_ids,
                self.english_venues,
                self.english_questions,
                self.english_texts,
            )
            query_words = text.english_words(question)
            coverage = self.english.coverage(query_words)
            reverse_field, query_grams = self.english, set(query_words)
            entry_places, query_places = None, frozenset()
        else:
            ids, venues, questions, texts = (
                self.chinese_ids,
                self.chinese_venues,
                self.chinese_questions,
                self.chinese_texts,
            )
            topical = text.without_generic_terms(normalized)
            if not any(len(w) > 1 and w in self.words.idf for w in text.words(topical)):
                topical = normalized  # the generic term was all it asked about ("市政府在哪")
            topical = text.expand(topical)
            query_bigrams = text.bigrams(text.content(topical))
            query_words = text.words(topical)
            coverage = WORD_WEIGHT * self.words.coverage(query_words) + BIGRAM_WEIGHT * (
                self.bigrams.coverage(query_bigrams)
            )

            reverse_field, query_grams = self.bigrams, set(query_bigrams)
            entry_places, query_places = self.chinese_places, text.places(normalized)
        if not len(ids):
            return Result("handoff", language=answer_language)
        fused = coverage + np.where(
            coverage > 0, self._venue_adjustment(venues, venue_id, bool(HERE.search(normalized))), 0.0
        )
        count = min(RERANK, len(fused))
        top = np.argpartition(-fused, count - 1)[:count]

        def reranked_score(p: int) -> float:
            score = float(fused[p]) + REVERSE_WEIGHT * reverse_field.reverse_coverage(texts[p], query_grams)
            if entry_places is not None and entry_places[p] and not entry_places[p] & query_places:
                score -= OTHER_PLACE_PENALTY
            return score

        reranked = sorted(
            ((reranked_score(p), int(p)) for p in top if coverage[p] > 0),
            key=lambda pair: (-pair[0], pair[1]),
        )
        picked: list[tuple[float, int]] = []
        seen_questions: set[str] = set()
        for total, position in reranked:  # one entry per question text (the same question at several venues)
            if questions[position] not in seen_questions:
                seen_questions.add(questions[position])
                picked.append((total, position))
        if not picked:
            return Result(self._empty_outcome(normalized), language=answer_language)
        best = picked[0][0]
        runner_up = picked[1][0] if len(picked) > 1 else 0.0
        candidates = []
        for rank, (total, position) in enumerate(picked[:CANDIDATES]):
            lead = total - (runner_up if rank == 0 else best)
            entry_id = int(ids[position])
            if answer_language == "en" and not english_question:
                entry_id = self.translation.get(entry_id, entry_id)
            score = confidence(total, lead, self.calibration)
            if candidates:  # never above a better-ranked candidate
                score = min(score, candidates[-1].score)
            candidates.append(Candidate(entry_id, round(score, 4), round(total, 4)))
        top_score = candidates[0].score
        if not scope_rules:
            return Result("answered", candidates, language=answer_language)
        off_topic = OFF_TOPIC.search(normalized) or CHIT_CHAT.search(normalized)
        if off_topic and not text.municipal_terms().search(normalized):
            return Result("out_of_scope", language=answer_language)
        if top_score >= ANSWER_THRESHOLD:
            outcome = "answered"
        elif CHIT_CHAT.search(normalized):
            return Result("out_of_scope", language=answer_language)
        elif top_score >= SUGGEST_THRESHOLD:
            outcome = "suggested"
        else:
            return Result("handoff", language=answer_language)
        return Result(outcome, candidates, language=answer_language)

    @staticmethod
    def _empty_outcome(normalized: str) -> str:
        return "out_of_scope" if CHIT_CHAT.search(normalized) or OFF_TOPIC.search(normalized) else "handoff"


_index: Index | None = None
_lock = threading.Lock()


def current_index() -> Index:
    """This process's index, rebuilt when the knowledge version in the database has moved on."""
    from .models import Entry, IndexVersion

    global _index
    version = IndexVersion.objects.filter(pk=1).values_list("token", flat=True).first() or ""
    current = _index
    if current is not None and current.version == version:
        return current
    with _lock:
        if _index is not None and _index.version == version:
            return _index
        rows = Entry.objects.filter(is_active=True).values_list(
            "id", "question", "phrasings", "venue_id", "language", "translation_of_id"
        )
        _index = Index([Document(*row) for row in rows.iterator(chunk_size=5_000)], version)
        return _index
