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
* the best 30, plus the 10 whose answer text covers most of the question and the 10 that share most
  of its single characters (停 / 停車場), plus, at a robot, its venue's entries, go to the second stage
  (``rerank``), with at most 3 entries of one shape (the question with place and agency names blanked:
  504 copies of "{village}垃圾車時間" must not crowd out the city-wide answer); a question matched by
  single characters alone is handed off. A dozen features per candidate (reverse coverage: how much
  of the entry's own question or of one phrasing the question covers, so "垃圾車時間" prefers the
  city-wide entry over "桃園區文化里垃圾車時間"; another district or village named; overlap with the
  closest phrasing; the answer text; a question word found nowhere in the entry…) combined by a
  listwise logistic regression fitted on the tuning half of the evaluation set
  (``bench/chatbot.py --calibrate``); one entry per shape is offered;
* the confidence of the best candidate is a logistic function of its reranked score, its lead, its
  coverage and its unexplained words, fitted on the same half with out-of-scope and unanswerable
  questions as negatives; it reads as "probability that this is the right answer", and the bot
  answers at 2/3 or more (a wrong answer counts twice a hand-off with suggestions);
* questions about other cities, and chit-chat or off-topic subjects with no municipal term in them,
  are out of scope.

English questions are matched against English entries (translations of Chinese ones); a Chinese
question asked with ``lang="en"`` answers with the English translation of the entry when there is one.
"""

import logging
import math
import re
import threading
from dataclasses import dataclass, field

import bm25s
import numpy as np

from . import rerank, text

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

K1, B = 1.2, 0.75
WORD_WEIGHT, BIGRAM_WEIGHT = 0.55, 0.45
VENUE_BONUS, OTHER_VENUE_PENALTY, NO_VENUE_PENALTY = 0.25, 0.35, 0.15
CANDIDATES = 3
RERANK = 30
ANSWER_POOL = 10  # candidates found by their answer text alone, added to the best 30 for the reranker
CHARACTER_POOL = 10  # candidates found by single characters (停 / 停車場), added too
# At most this many entries of one shape (the question with place and agency names blanked) in the
# pool: 504 copies of "{village}垃圾車時間" must not fill it before the city-wide entry.
PER_SHAPE = 3
# The confidence reads as P(the first answer is right). A wrong confident answer costs more than a
# hand-off that still shows the best three (issue 8: "worse than let me connect you to 1999"); at a cost
# ratio of 2 : 1, answering pays only when P(right) ≥ 2 / (2 + 1).
WRONG_ANSWER_COST = 2.0
# At or above: answer; below: suggestions and a hand-off.
ANSWER_THRESHOLD = WRONG_ANSWER_COST / (WRONG_ANSWER_COST + 1)
SUGGEST_THRESHOLD = 0.15  # below: only the hand-off


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
    coverage: float  # the reranker's score the confidence was computed from
    features: tuple = ()  # the confidence model's inputs (rerank.CONFIDENCE_FEATURES)


@dataclass
class Result:
    outcome: str  # answered | suggested | handoff | out_of_scope
    candidates: list[Candidate] = field(default_factory=list)
    language: str = "zh-hant"
    pool: list[tuple[int, list[float]]] = field(default_factory=list)  # every reranked entry's features


@dataclass(frozen=True)
class Document:
    entry_id: int
    question: str
    phrasings: str
    venue_id: int | None
    language: str
    translation_of_id: int | None = None
    answer: str = ""
    category: str = ""


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
        chinese = [d for d in documents if d.language != "en"]
        english = [d for d in documents if d.language == "en"]
        self.chinese_ids = np.array([d.entry_id for d in chinese], dtype=np.int64)
        self.chinese_venues = np.array([d.venue_id or 0 for d in chinese], dtype=np.int64)
        self.chinese_questions = [text.normalize(d.question) for d in chinese]
        self.chinese_shapes = _shape_ids([text.shape(q) for q in self.chinese_questions])
        normalized = [text.normalize(f"{d.question}\n{d.phrasings}") for d in chinese]
        self.chinese_places = [text.places(n) for n in normalized]
        normalized = [text.expand(n) for n in normalized]
        self.chinese_texts = [
            [set(text.bigrams(text.content(line))) for line in n.splitlines() if line.strip()]
            for n in normalized
        ]
        self.words = _Field([text.words(n) for n in normalized])
        self.bigrams = _Field([text.bigrams(text.content(n)) for n in normalized])
        self.characters = _Field([text.characters(text.content(n)) for n in normalized])
        answers = [text.normalize(d.answer) for d in chinese]
        self.chinese_joined = [n.replace("\n", " ") for n in normalized]  # longest common substring
        self.chinese_full = [
            f"{n}\n{a}" for n, a in zip(normalized, answers, strict=True)
        ]  # is a word explained
        answer_bigrams = [text.bigrams(text.content(a)) for a in answers]
        self.chinese_answers = [set(grams) for grams in answer_bigrams]
        self.chinese_answer_field = _Field(answer_bigrams)
        self.chinese_categories = [text.normalize(d.category) for d in chinese]
        self.english_ids = np.array([d.entry_id for d in english], dtype=np.int64)
        self.english_venues = np.array([d.venue_id or 0 for d in english], dtype=np.int64)
        self.english_questions = [d.question.lower() for d in english]
        self.english_shapes = _shape_ids(self.english_questions)
        english_lines = [
            [text.english_words(line) for line in f"{d.question}\n{d.phrasings}".splitlines()]
            for d in english
        ]
        self.english = _Field([[w for line in lines for w in line] for lines in english_lines])
        self.english_texts = [[set(line) for line in lines if line] for lines in english_lines]
        answer_words = [text.english_words(d.answer) for d in english]
        self.english_answers = [set(words) for words in answer_words]
        self.english_answer_field = _Field(answer_words)
        self.english_full = [
            {w for line in lines for w in line} | a
            for lines, a in zip(english_lines, self.english_answers, strict=True)
        ]
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
        chinese = not english_question
        if english_question:
            ids, venues, texts, shapes = (
                self.english_ids,
                self.english_venues,
                self.english_texts,
                self.english_shapes,
            )
            query_words = text.english_words(question)
            word_coverage = self.english.coverage(query_words)
            bigram_coverage = np.zeros_like(word_coverage)
            character_coverage = np.zeros_like(word_coverage)
            coverage = word_coverage
            reverse_field, query_grams = self.english, set(query_words)
            entry_places, query_places = None, frozenset()
            segments: list[str] = []
        else:
            ids, venues, texts, shapes = (
                self.chinese_ids,
                self.chinese_venues,
                self.chinese_texts,
                self.chinese_shapes,
            )
            topical = text.without_generic_terms(normalized)
            if not any(len(w) > 1 and w in self.words.idf for w in text.words(topical)):
                topical = normalized  # the generic term was all it asked about ("市政府在哪")
            topical = text.expand(topical)
            query_bigrams = text.bigrams(text.content(topical))
            query_words = text.words(topical)
            word_coverage = self.words.coverage(query_words)
            bigram_coverage = self.bigrams.coverage(query_bigrams)
            character_coverage = self.characters.coverage(text.characters(text.content(topical)))
            coverage = WORD_WEIGHT * word_coverage + BIGRAM_WEIGHT * bigram_coverage
            reverse_field, query_grams = self.bigrams, set(query_bigrams)
            entry_places, query_places = self.chinese_places, text.places(normalized)
            segments = [p for p in text.cjk_runs(text.content(text.without_generic_terms(normalized)))]
        if not len(ids):
            return Result("handoff", language=answer_language)
        # the venue adjustment applies to any match, a match by single characters included (機車停哪裡
        # at a robot: its 停車場 entry)
        fused = coverage + np.where(
            (coverage > 0) | (character_coverage > 0),
            self._venue_adjustment(venues, venue_id, bool(HERE.search(normalized))),
            0.0,
        )
        top = _diverse_top(fused, shapes, RERANK, eligible=coverage > 0)
        # the answer text widens the pool (a question may use the answer's words, not the question's:
        # 火化 is in the answer of 殯葬設施); the reranker weighs how much of the question it covers
        answer_field = self.english_answer_field if english_question else self.chinese_answer_field
        by_answer = answer_field.coverage(query_words if english_question else query_bigrams)
        top += _diverse_top(by_answer, shapes, ANSWER_POOL, taken=top)
        if not top:  # single characters alone are too thin a match to offer anything
            return Result(self._empty_outcome(normalized), language=answer_language)
        # single characters widen the pool for words shared only in part (停 / 停車場, 改名 / 更名), and
        # at a robot its venue's few entries are always candidates; the reranker weighs them
        top += _diverse_top(character_coverage, shapes, CHARACTER_POOL, taken=top)
        if venue_id is not None:
            taken = set(top)
            top += [int(p) for p in np.flatnonzero(venues == venue_id) if int(p) not in taken]
        question_side = any(coverage[p] > 0 for p in top)
        if scope_rules and not question_side and self._empty_outcome(normalized) == "out_of_scope":
            # found through answer texts only: chit-chat or an off-topic subject stays out of scope
            return Result("out_of_scope", language=answer_language)
        word_field = self.words if chinese else self.english
        explainable = {w for w in query_words if len(w) > 1}
        query_weight = sum(reverse_field.idf.get(g, reverse_field.rarest) for g in query_grams) or 1.0
        segment_length = sum(len(p) for p in segments) or 1

        def features(p: int) -> list[float]:
            full = self.chinese_full[p] if chinese else self.english_full[p]
            answer = self.chinese_answers[p] if chinese else self.english_answers[p]
            unexplained = [word_field.idf.get(w, word_field.rarest) for w in explainable if w not in full]
            category = self.chinese_categories[p] if chinese else ""
            return [
                float(fused[p]),
                float(word_coverage[p]),
                float(bigram_coverage[p]),
                reverse_field.reverse_coverage(texts[p], query_grams),
                float(bool(entry_places and entry_places[p] and not entry_places[p] & query_places)),
                max((rerank.jaccard(query_grams, line) for line in texts[p]), default=0.0),
                sum(rerank.longest_common_substring(seg, self.chinese_joined[p]) for seg in segments)
                / segment_length
                if chinese
                else 0.0,
                sum(reverse_field.idf.get(g, reverse_field.rarest) for g in query_grams & answer)
                / query_weight,
                max(unexplained, default=0.0) / word_field.rarest,
                float(len(category) > 1 and category in normalized),
                float(venue_id is not None and int(venues[p]) == venue_id),
                float(int(venues[p]) > 0 and int(venues[p]) != (venue_id or 0)),
                float(character_coverage[p]),
            ]

        rows = np.array([features(p) for p in top])
        model = rerank.model()
        totals = rerank.score(rows, model["weights"])
        reranked = sorted(
            ((float(totals[i]), top[i], i) for i in range(len(top))), key=lambda t: (-t[0], t[1])
        )
        picked: list[tuple[float, int, int]] = []
        seen_shapes: set[int] = set()
        # one entry per shape: the same question at several venues, or one template written for many
        # agencies or villages ("{agency}上班時間"), is offered once, the best-ranked copy
        for total, position, row in reranked:
            if int(shapes[position]) not in seen_shapes:
                seen_shapes.add(int(shapes[position]))
                picked.append((total, position, row))
        best = picked[0][0]
        runner_up = picked[1][0] if len(picked) > 1 else 0.0
        candidates = []
        for rank, (total, position, row) in enumerate(picked[:CANDIDATES]):
            lead = total - (runner_up if rank == 0 else best)
            entry_id = int(ids[position])
            if answer_language == "en" and not english_question:
                entry_id = self.translation.get(entry_id, entry_id)
            inputs = (total, lead * max(total, 0.0), rows[row, 0], rows[row, 8], rows[row, 5])
            score = rerank.confidence(list(inputs), model["confidence"])
            if candidates:  # never above a better-ranked candidate
                score = min(score, candidates[-1].score)
            candidates.append(
                Candidate(entry_id, round(score, 4), round(total, 4), tuple(float(v) for v in inputs))
            )
        top_score = candidates[0].score
        if not scope_rules:
            pool = [(int(ids[p]), rows[i].tolist()) for i, p in enumerate(top)]
            return Result("answered", candidates, language=answer_language, pool=pool)
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


def _shape_ids(shapes: list[str]) -> np.ndarray:
    numbers: dict[str, int] = {}
    return np.array([numbers.setdefault(s, len(numbers)) for s in shapes], dtype=np.int64)


def _diverse_top(
    scores: np.ndarray,
    shapes: np.ndarray,
    count: int,
    eligible: np.ndarray | None = None,
    taken: list[int] = (),
) -> list[int]:
    """Positions of the ``count`` best scores among the eligible entries (default: positive scores) and
    not already ``taken``, best first, with at most PER_SHAPE entries of one shape in the whole pool
    (``taken`` included). Vectorised: the rank of each entry within its shape, in score order."""
    mask = scores > 0 if eligible is None else eligible.copy()
    mask[list(taken)] = False
    order = np.argsort(-scores, kind="stable")
    order = order[mask[order]]
    if not len(order):
        return []
    groups = shapes[order]
    by_group = np.argsort(groups, kind="stable")  # stable: score order inside each group
    sorted_groups = groups[by_group]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(sorted_groups)]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[by_group] = np.arange(len(order)) - run_start
    if len(taken):  # places the pool already holds count against the cap
        rank += np.bincount(shapes[list(taken)], minlength=int(shapes.max()) + 1)[groups]
    return [int(p) for p in order[rank < PER_SHAPE][:count]]


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
            "id", "question", "phrasings", "venue_id", "language", "translation_of_id", "answer", "category"
        )
        _index = Index([Document(*row) for row in rows.iterator(chunk_size=5_000)], version)
        return _index
