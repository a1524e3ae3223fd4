"""Catalog search in Chinese: word segmentation with jieba, ranked with BM25.

Items are segmented once when saved (``ServiceItem.search_tokens``, space-separated) with jieba's
search mode plus a shipped dictionary of government terms (data/terms.txt, Traditional Chinese),
so "戶籍謄本" matches an item about 謄本 of 戶籍 but "籍謄" does not match everything with those
characters. The index of the whole catalog (808 items in the report) lives in each process's
memory and is rebuilt when the catalog changes (checked by a cheap count/max(updated_at) query).
"""

import logging
import math
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jieba

_DICTIONARY = Path(__file__).with_name("data") / "terms.txt"
_tokenizer: jieba.Tokenizer | None = None
_lock = threading.Lock()
_WORD = re.compile(r"\w", re.UNICODE)
STOP_WORDS = {"的", "之", "與", "及", "或", "和", "申請", "辦理", "相關"}


def tokenizer() -> jieba.Tokenizer:
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            jieba.setLogLevel(logging.WARNING)  # its "loading model" lines are debug chatter
            instance = jieba.Tokenizer()
            instance.initialize()
            instance.load_userdict(str(_DICTIONARY))
            _tokenizer = instance
    return _tokenizer


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def tokens(text: str) -> list[str]:
    """Index tokens of a text: each word (precise mode) and every dictionary word inside it of two or
    more characters (so 中低收入戶 is also found by 低收入戶 and 收入), no punctuation or stop words."""
    instance = tokenizer()
    found = []
    for word in instance.cut(normalize(text)):
        word = word.strip()
        if not word or not _WORD.search(word) or word in STOP_WORDS:
            continue
        for size in range(2, len(word)):
            for start in range(len(word) - size + 1):
                part = word[start : start + size]
                if instance.FREQ.get(part) and part not in STOP_WORDS:
                    found.append(part)
        found.append(word)
    return found


def query_tokens(text: str) -> list[str]:
    """A query's words (precise mode, so 戶籍謄本 stays one term, with its parts as fallbacks)."""
    words = [w.strip() for w in tokenizer().cut(normalize(text))]
    return [w for w in words if w and _WORD.search(w) and w not in STOP_WORDS]


@dataclass
class Index:
    stamp: tuple
    postings: dict[str, dict[int, int]]  # token -> {item id: term frequency}
    lengths: dict[int, int]
    average_length: float
    items: dict = None  # item id -> ServiceItem (with its agency), read-only, in catalog order

    @classmethod
    def build(cls, stamp: tuple, rows: list[tuple[int, str]]) -> "Index":
        postings: dict[str, dict[int, int]] = {}
        lengths: dict[int, int] = {}
        for item_id, text in rows:
            words = text.split()
            lengths[item_id] = len(words)
            for word, count in Counter(words).items():
                postings.setdefault(word, {})[item_id] = count
        average = sum(lengths.values()) / len(lengths) if lengths else 1.0
        return cls(stamp, postings, lengths, average or 1.0)

    def _bm25(self, term: str, total: int, k1: float, b: float) -> dict[int, float]:
        posting = self.postings[term]
        idf = math.log(1 + (total - len(posting) + 0.5) / (len(posting) + 0.5))
        return {
            item_id: idf
            * frequency
            * (k1 + 1)
            / (frequency + k1 * (1 - b + b * self.lengths[item_id] / self.average_length))
            for item_id, frequency in posting.items()
        }

    def _word_scores(self, word: str, total: int, k1: float, b: float) -> dict[int, float]:
        """Scores of one query word: the indexed word itself; else the indexed words that contain it
        (育兒 → 育兒津貼, when the dictionary lacks 育兒), at half weight; else all of its own parts."""
        if word in self.postings:
            return self._bm25(word, total, k1, b)
        scores: dict[int, float] = {}
        if len(word) >= 2:
            for term in (t for t in self.postings if word in t):
                for item_id, score in self._bm25(term, total, k1, b).items():
                    scores[item_id] = max(scores.get(item_id, 0.0), score / 2)
        if scores:
            return scores
        parts = [t for t in tokens(word) if t != word]
        if not parts or any(t not in self.postings for t in parts):
            return {}
        part_scores = [self._bm25(t, total, k1, b) for t in parts]
        common = set.intersection(*(set(s) for s in part_scores))
        return {item_id: sum(s[item_id] for s in part_scores) for item_id in common}

    def search(self, query: str, *, k1: float = 1.2, b: float = 0.75) -> list[tuple[int, float]]:
        """Items matching every query word, best first by BM25."""
        total = len(self.lengths)
        scores: dict[int, float] | None = None
        for word in query_tokens(query):
            word_scores = self._word_scores(word, total, k1, b)
            if not word_scores:
                return []
            if scores is None:
                scores = word_scores
            else:
                scores = {i: scores[i] + s for i, s in word_scores.items() if i in scores}
            if not scores:
                return []
        if scores is None:
            return []
        return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


_index: Index | None = None


def catalog_index() -> Index:
    from django.db.models import Count, Max

    from .models import ServiceItem

    global _index
    stats = ServiceItem.objects.filter(is_active=True).aggregate(count=Count("id"), latest=Max("updated_at"))
    stamp = (stats["count"], stats["latest"])
    current = _index
    if current is None or current.stamp != stamp:
        items = list(
            ServiceItem.objects.filter(is_active=True)
            .select_related("agency")
            .order_by("agency__code", "code")
        )
        current = Index.build(stamp, [(item.pk, item.search_tokens) for item in items])
        current.items = {item.pk: item for item in items}
        _index = current
    return current
