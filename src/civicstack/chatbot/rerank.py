"""Second stage of retrieval: features of a (question, candidate entry) pair, the reranker that
combines them, and the confidence model that turns the best candidate into "probability this is
right". Both are small linear models over a dozen explainable features, fitted with numpy on the
even (tuning) lines of the evaluation set by ``bench/chatbot.py --calibrate`` and stored in
``data/reranker.json``; without that file the hand-set combination of the first version is used
(first-stage score + 0.5 × reverse coverage − 0.3 when the entry names another place).

The reranker is listwise: a softmax over the candidates of one question, trained so the right entry
gets the mass (maximum likelihood with an L2 penalty). The confidence model is a logistic regression
over the best candidate's features and its lead; its negative examples include the best (wrong)
matches of out-of-scope and unanswerable in-scope questions, which is what lets it hand off a
municipal question that the knowledge does not cover ("市府有沒有結婚補助" shares 結婚 and 補助 with
entries, but 結婚補助 is in none of them).
"""

import json
import math
from functools import lru_cache

import numpy as np

from . import text

MODEL_FILE = text.DATA / "reranker.json"

# Features of a candidate, in order (all in 0–1 except the first stage's score and the venue term):
FEATURES = (
    "first_stage",  # fused coverage of words and bigrams plus the venue adjustment
    "word_coverage",  # share (by IDF) of the question's words the entry's texts hold
    "bigram_coverage",  # the same for character bigrams (typos, unknown words)
    "reverse_coverage",  # share of the entry's own question or of one phrasing the question covers
    "other_place",  # 1 when the entry names a district or village the question does not
    "best_line_jaccard",  # bigram Jaccard with the closest single text (question or one phrasing)
    "common_substring",  # longest common substring with the entry's texts / the question's length
    "answer_coverage",  # share (by IDF) of the question's bigrams found in the answer text
    "unexplained",  # IDF of the rarest question word found nowhere in the entry (nor its answer)
    "category_cue",  # 1 when the question names the entry's category (戶政, 交通…)
    "venue_match",  # 1 when the entry belongs to the venue the question is asked at
    "other_venue",  # 1 when the entry belongs to another venue (or to any, for a question asked online)
    "character_coverage",  # share (by IDF) of the question's single characters the entry's texts hold
)
CONFIDENCE_FEATURES = ("score", "lead", "first_stage", "unexplained", "best_line_jaccard")

HAND_SET = {
    "weights": [1.0, 0, 0, 0.5, -0.3, 0, 0, 0, 0, 0, 0, 0, 0],
    "confidence": {"weights": [1.0, 7.8, 0, 0, 0], "intercept": -0.05},
}


@lru_cache(maxsize=1)
def _stored() -> dict:
    if MODEL_FILE.exists():
        stored = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
        if stored.get("features") == list(FEATURES):  # a model of other features would misread them
            return stored
    return HAND_SET


def model() -> dict:
    """The reranker weights and the confidence model in force."""
    return _stored()


def reload() -> None:
    _stored.cache_clear()


def longest_common_substring(query: str, target: str) -> int:
    """Length of the longest piece of ``query`` (2+ characters) found in ``target``; substring tests
    run in C, so trying every piece of a short question, longest first, stays well under a millisecond."""
    best = 0
    n = len(query)
    for length in range(n, 1, -1):
        if length <= best:
            break
        for start in range(n - length + 1):
            if query[start : start + length] in target:
                return length
    return best


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def score(features: np.ndarray, weights: list[float]) -> np.ndarray:
    return features @ np.asarray(weights, dtype=float)


def confidence(features: list[float], params: dict) -> float:
    z = float(np.dot(features, params["weights"])) + params["intercept"]
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


# --- fitting (bench/chatbot.py --calibrate, on the even lines only) ---------------------------------


def _padded(groups: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    width = max(len(rows) for rows, _right in groups)
    x = np.zeros((len(groups), width, len(groups[0][0][0])))
    mask = np.zeros((len(groups), width), dtype=bool)
    right = np.zeros((len(groups), width))
    for n, (rows, position) in enumerate(groups):
        x[n, : len(rows)] = rows
        mask[n, : len(rows)] = True
        right[n, position] = 1.0
    return x, mask, right


def fit_reranker(groups: list[tuple[np.ndarray, int]], l2: float = 0.05, steps: int = 3000) -> list[float]:
    """Listwise logistic (softmax) regression: ``groups`` holds, per question, the candidates' feature
    rows and the index of the right one. Gradient descent with an L2 penalty pulling towards the
    hand-set weights (the prior a small tuning set should move only where its evidence says so)."""
    prior = np.asarray(HAND_SET["weights"], dtype=float)
    x, mask, right = _padded(groups)
    w = prior.copy()
    for _ in range(steps):
        logits = np.where(mask, x @ w, -np.inf)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        gradient = np.einsum("gk,gkf->f", p - right, x) / len(groups) + l2 * (w - prior)
        w -= 0.5 / (1.0 + l2) * gradient  # a step the penalty's curvature keeps stable
    return [round(float(v), 4) for v in w]


def top1(groups: list[tuple[np.ndarray, int]], weights: list[float]) -> float:
    """Share of the groups whose right candidate scores highest under ``weights``."""
    return float(np.mean([int(np.argmax(rows @ np.asarray(weights))) == right for rows, right in groups]))


def choose_l2(
    groups: list[tuple[np.ndarray, int]],
    choices=(0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
    unanticipated: list[tuple[int, tuple[np.ndarray, int]]] = (),
) -> float:
    """The L2 strength with the best two-fold cross-validated top-1 inside the given (tuning) groups;
    ties go to the stronger penalty (closer to the hand-set prior). ``unanticipated`` holds, as
    (position of the same question in ``groups``, group), the candidates the same questions get from
    the knowledge without its hand-written phrasings: a model is also validated on questions no
    phrasing anticipates, which is what a new question is."""
    scores = {}
    for l2 in choices:
        total = 0.0
        for k in (0, 1):
            weights = fit_reranker(groups[k::2], l2)
            held = groups[1 - k :: 2] + [g for n, g in unanticipated if n % 2 != k]
            total += top1(held, weights) * len(held)
        scores[l2] = total
    best = max(scores.values())
    return max(l2 for l2, value in scores.items() if value == best)


def fit_confidence(x: np.ndarray, y: np.ndarray, l2: float = 0.01, steps: int = 20_000) -> dict:
    """Logistic regression of "the best candidate is right" on CONFIDENCE_FEATURES. The reranker's
    score, its lead and the first stage's coverage are kept non-negative (more of them never lowers the
    confidence); an unexplained rare word may only lower it."""
    w, b = np.zeros(x.shape[1]), 0.0
    sign = np.array([1, 1, 1, -1, 1], dtype=float)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        w -= 0.5 * ((x.T @ (p - y)) / len(y) + l2 * w)
        w = np.where(sign * w < 0, 0.0, w)
        b -= 0.5 * float(np.mean(p - y))
    return {"weights": [round(float(v), 4) for v in w], "intercept": round(float(b), 4)}
