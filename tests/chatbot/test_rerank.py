"""The second stage of retrieval: the reranker over the first stage's candidates, the answer text
widening the pool, the confidence model, and the hand-off of in-scope questions the knowledge does
not cover."""

import numpy as np
import pytest

from civicstack.chatbot import demo, rerank, retrieval

from .conftest import ask


@pytest.fixture(scope="module")
def demo_index():
    """The in-memory index of the whole demo knowledge (10,735 entries, no database)."""
    venues, rows = demo.corpus()
    venue_ids = {v["code"]: n + 1 for n, v in enumerate(venues)}
    index = retrieval.Index([
        retrieval.Document(n + 1, r.question, "\n".join(r.phrasings), venue_ids.get(r.venue), r.language,
                           None, r.answer, r.category) for n, r in enumerate(rows)])  # fmt: skip
    return index, {n + 1: r.external_id for n, r in enumerate(rows)}


def first_answer(index_and_ids, question: str) -> str:
    index, external_ids = index_and_ids
    return external_ids[index.search(question).candidates[0].entry_id]


def test_the_fitted_reranker_moves_a_paraphrase_s_right_answer_to_rank_1(demo_index, monkeypatch):
    # "ran out of money on the citizen card, where to top up": the hand-set combination reads "no money"
    # and prefers 急難救助怎麼申請; the fitted reranker (more weight on the closest phrasing and the answer
    # text) finds 市民卡儲值在哪裡.
    question = "市民卡沒錢了去哪加值"
    fitted = first_answer(demo_index, question)
    monkeypatch.setattr(rerank, "model", lambda: rerank.HAND_SET)
    hand_set = first_answer(demo_index, question)

    assert fitted == "F0013"
    assert hand_set == "F0022"


def test_the_shipped_model_names_the_features_the_code_computes():
    model = rerank.model()

    assert model["features"] == list(rerank.FEATURES)
    assert len(model["weights"]) == len(rerank.FEATURES)
    assert model["confidence_features"] == list(rerank.CONFIDENCE_FEATURES)
    assert len(model["confidence"]["weights"]) == len(rerank.CONFIDENCE_FEATURES)


def test_the_answer_text_brings_an_entry_into_the_pool():
    index = retrieval.Index([
        retrieval.Document(1, "颱風停班公告", "", None, "zh-hant", answer="停班停課訊息由人事行政總處公布。"),
        retrieval.Document(2, "垃圾車幾點來", "", None, "zh-hant", answer="垃圾車收運時間請查詢環保局網站。"),
    ])  # fmt: skip

    result = index.search("人事行政總處", scope_rules=False)

    assert [c.entry_id for c in result.candidates] == [1]
    assert result.pool[0][1][0] == 0.0  # nothing of the question is in the entry's question itself
    assert result.pool[0][1][rerank.FEATURES.index("answer_coverage")] > 0.5


def test_an_unanswerable_in_scope_question_is_handed_off_with_suggestions(client, knowledge, monkeypatch):
    # Municipal (補助, 市府) but about something no entry covers: 熱水器 is in no entry.
    body = ask(client, "市府有補助裝熱水器嗎")

    assert body["handoff"] is True and body["outcome"] == "suggested"
    assert body["answers"] and body["answers"][0]["score"] < retrieval.ANSWER_THRESHOLD
    assert body["handoff_to"] == {"name": "1999", "phone": "1999"}


def test_a_word_found_nowhere_in_the_entry_lowers_the_confidence():
    params = rerank.model()["confidence"]
    explained = [1.5, 0.5, 0.8, 0.0, 0.5]
    unexplained = [1.5, 0.5, 0.8, 1.0, 0.5]

    assert rerank.confidence(unexplained, params) < rerank.confidence(explained, params)
    assert rerank.confidence([3, 2, 1, 0, 1], params) > rerank.confidence([1, 0.2, 0.5, 0, 1], params)


def test_the_unexplained_feature_marks_the_rarest_missing_word(demo_index):
    index, _ids = demo_index

    covered = index.search("身分證遺失怎麼補發", scope_rules=False).candidates[0].features
    missing = index.search("市府有補助裝熱水器嗎", scope_rules=False).candidates[0].features

    at = rerank.CONFIDENCE_FEATURES.index("unexplained")
    assert covered[at] == 0.0
    assert missing[at] > 0.5


@pytest.mark.parametrize(
    ("query", "target", "expected"),
    [
        ("市民卡儲值", "如何在超商儲值市民卡", 3),
        ("火化", "殯葬設施", 0),
        ("公車路線", "公車路線查詢", 4),
        ("", "abc", 0),
    ],
)
def test_longest_common_substring(query, target, expected):
    assert rerank.longest_common_substring(query, target) == expected


def test_the_reranker_fit_learns_the_feature_that_marks_the_right_candidate():
    rng = np.random.default_rng(7)
    groups = []
    for _ in range(60):
        rows = rng.uniform(0, 1, size=(8, len(rerank.FEATURES)))
        rows[:, 0] = 0.5  # the first stage cannot tell them apart
        right = int(rng.integers(8))
        rows[right, rerank.FEATURES.index("best_line_jaccard")] += 1.0
        groups.append((rows, right))

    weights = rerank.fit_reranker(groups, l2=0.01, steps=500)

    at = rerank.FEATURES.index("best_line_jaccard")
    assert weights[at] > 1.0
    assert rerank.top1(groups, weights) > 0.9
    assert rerank.choose_l2(groups, choices=(0.01, 10.0)) == 0.01


def test_the_confidence_fit_keeps_its_signs():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, size=(300, len(rerank.CONFIDENCE_FEATURES)))
    y = (x[:, 0] - x[:, 3] + rng.normal(0, 0.2, 300) > 0).astype(float)

    params = rerank.fit_confidence(x, y, steps=3000)

    weights = dict(zip(rerank.CONFIDENCE_FEATURES, params["weights"], strict=True))
    assert weights["score"] > 1 and weights["unexplained"] < -1
    assert all(weights[name] >= 0 for name in ("score", "lead", "first_stage", "best_line_jaccard"))


def test_copies_of_one_template_do_not_fill_the_pool(demo_index):
    # 504 "{district}{village}垃圾車時間" entries match "垃圾車時間" better than the city-wide 垃圾車幾點來;
    # the pool takes a few of them, and the answers offer one
    index, external_ids = demo_index

    result = index.search("垃圾車時間", scope_rules=False)

    pooled = [external_ids[entry_id] for entry_id, _row in result.pool]
    assert sum(e.startswith("LQ-03-") for e in pooled) == retrieval.PER_SHAPE
    assert "F0030" in pooled
    offered = [external_ids[c.entry_id] for c in result.candidates]
    assert "F0030" in offered and sum(e.startswith("LQ-03-") for e in offered) == 1


def test_diverse_top_keeps_score_order_and_caps_each_shape(monkeypatch):
    monkeypatch.setattr(retrieval, "PER_SHAPE", 2)
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.0])
    shapes = np.array([1, 1, 1, 2, 1, 3])

    assert retrieval._diverse_top(scores, shapes, 10) == [0, 1, 3]
    assert retrieval._diverse_top(scores, shapes, 2) == [0, 1]
    assert retrieval._diverse_top(-scores, shapes, 10, eligible=scores > 0.65) == [2, 1]
    assert retrieval._diverse_top(scores, shapes, 10, taken=[0]) == [1, 3]  # shape 1 has 0 already


def _parking_index():
    return retrieval.Index([
        retrieval.Document(1, "停車場在哪裡", "", 1, "zh-hant", answer="地下一樓停車場。"),
        retrieval.Document(2, "車子保養", "", None, "zh-hant", answer="請洽原廠。"),
        retrieval.Document(3, "服務時間", "", 1, "zh-hant", answer="週一至週五。"),
    ])  # fmt: skip


def test_single_characters_and_the_venue_widen_the_pool():
    index = _parking_index()

    online = index.search("車子可以停哪", scope_rules=False)
    at_venue = index.search("車子可以停哪", venue_id=1, scope_rules=False)

    pooled = {entry_id: row for entry_id, row in online.pool}
    assert set(pooled) == {1, 2}  # 停車場在哪裡 shares only single characters (停, 車, 哪)
    assert pooled[1][rerank.FEATURES.index("character_coverage")] > 0
    assert {entry_id for entry_id, _row in at_venue.pool} == {1, 2, 3}  # the venue's entries too


def test_single_characters_alone_offer_nothing():
    assert _parking_index().search("停哪").outcome == "handoff"
