"""Asking: answers, confidence and hand-off, out-of-scope questions, venue preference, English,
the masked conversation log, feedback, and the index following changes of the knowledge."""

import datetime

import pytest
from django.utils import timezone

from civicstack.chatbot import retrieval, services
from civicstack.chatbot.models import Entry, Turn, Venue
from civicstack.core.models import ApiKey
from civicstack.core.services import api_key_create

from .conftest import ask


def test_a_colloquial_simplified_question_is_answered_with_the_entry(client, knowledge):
    body = ask(client, "身份证丢了怎么办")

    assert body["outcome"] == "answered" and body["handoff"] is False
    assert body["answers"][0]["id"] == "F0001"
    assert body["answers"][0]["question"] == "身分證遺失怎麼補發"
    assert 0.5 <= body["answers"][0]["score"] <= 1
    assert [a["score"] for a in body["answers"]] == sorted(
        (a["score"] for a in body["answers"]), reverse=True
    )
    assert len(body["answers"]) <= 3


def test_a_typo_in_a_glossary_term_still_finds_the_answer(client, knowledge):
    assert ask(client, "市民咔掉了怎麼辦")["answers"][0]["id"] == "F0010"


@pytest.mark.parametrize(
    "question", ["你好啊", "講個笑話", "台北市的垃圾車幾點來", "新北市育兒津貼", "tell me a joke"]
)
def test_out_of_scope_questions_get_a_polite_handoff_not_an_answer(client, knowledge, question):
    body = ask(client, question)

    assert body["handoff"] is True
    assert body["answers"] == []
    assert body["outcome"] == "out_of_scope"
    assert body["handoff_to"] == {"name": "1999", "phone": "1999"}


def test_below_the_threshold_the_bot_hands_off_with_its_suggestions(client, knowledge, monkeypatch):
    question = "停車費可以用手機繳嗎"
    confident = ask(client, question)
    top_score = confident["answers"][0]["score"]

    monkeypatch.setattr(retrieval, "ANSWER_THRESHOLD", top_score + 0.001)
    unsure = ask(client, question)

    assert confident["outcome"] == "answered" and confident["handoff"] is False
    assert unsure["outcome"] == "suggested" and unsure["handoff"] is True
    assert unsure["handoff_to"] == {"name": "1999", "phone": "1999"}
    assert [a["id"] for a in unsure["answers"]] == [a["id"] for a in confident["answers"]]
    assert Turn.objects.get(pk=unsure["turn_id"]).outcome == Turn.Outcome.SUGGESTED


def test_below_the_suggestion_floor_only_the_handoff_is_offered(client, knowledge, monkeypatch):
    monkeypatch.setattr(retrieval, "SUGGEST_THRESHOLD", 1.0)
    monkeypatch.setattr(retrieval, "ANSWER_THRESHOLD", 1.01)

    body = ask(client, "停車費可以用手機繳嗎")

    assert body["outcome"] == "handoff" and body["answers"] == []


def test_nothing_related_hands_off_to_the_venue_counter_at_a_venue(client, knowledge):
    body = ask(client, "量子電腦的原理", venue="traffic")

    assert body["handoff"] is True and body["answers"] == []
    assert body["handoff_to"] == {"name": "裁決櫃台", "phone": None}


def test_the_venue_entry_is_preferred_at_its_venue(client, knowledge):
    at_library = ask(client, "廁所在哪", venue="library")
    at_traffic = ask(client, "廁所在哪", venue="traffic")

    assert at_library["answers"][0]["id"] == "V-library-1"
    assert at_traffic["answers"][0]["id"] == "V-traffic-1"
    assert "2樓兒童區" in at_library["answers"][0]["answer"]


def test_an_unknown_venue_is_a_404(client, knowledge):
    response = client.post(
        "/api/v1/chatbot/ask", {"question": "廁所", "venue": "nowhere"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_english_questions_are_answered_from_english_entries(client, knowledge):
    body = ask(client, "I lost my citizen card")

    assert body["answers"][0]["id"] == "F0010-EN"
    assert body["answers"][0]["answer"].startswith("Call 1999")


def test_a_chinese_question_asked_in_english_answers_with_the_translation(client, knowledge):
    assert ask(client, "身分證遺失", lang="en")["answers"][0]["id"] == "F0001-EN"


@pytest.mark.parametrize(
    "payload",
    [{}, {"question": ""}, {"question": "x" * 501}, {"question": "廁所", "lang": "fr"}, {"question": 5},
     {"question": "廁所", "conversation_id": "not-a-uuid"}],
)  # fmt: skip
def test_bad_input_is_refused_in_the_envelope(client, knowledge, payload):
    response = client.post("/api/v1/chatbot/ask", payload, content_type="application/json")

    assert response.status_code in (400, 422)
    assert "error" in response.json()


def test_the_log_keeps_no_identification_numbers_phones_or_emails(client, knowledge):
    body = ask(client, "我的身分證A123456789遺失了，電話0912-345-678，信箱amy@example.com")

    turn = Turn.objects.get(pk=body["turn_id"])
    assert turn.question == "我的身分證[id]遺失了,電話[phone],信箱[email]"  # NFKC: full-width punctuation too
    assert turn.conversation.public_id.hex == body["conversation_id"].replace("-", "")
    stored = str(list(Turn.objects.values_list("question", "suggestions")))
    assert "A123456789" not in stored and "0912" not in stored and "amy@" not in stored


def test_a_conversation_continues_and_feedback_is_recorded(client, knowledge):
    first = ask(client, "垃圾車幾點來")
    second = ask(client, "大型垃圾怎麼丟", conversation_id=first["conversation_id"])

    response = client.post("/api/v1/chatbot/feedback", {"conversation_id": second["conversation_id"],
                           "turn_id": second["turn_id"], "helpful": False}, content_type="application/json")  # fmt: skip

    assert second["conversation_id"] == first["conversation_id"]
    assert response.status_code == 200 and response.json()["feedback"] == "unhelpful"
    assert Turn.objects.get(pk=second["turn_id"]).feedback == Turn.Feedback.UNHELPFUL


def test_feedback_on_someone_elses_conversation_is_a_404(client, knowledge):
    mine = ask(client, "垃圾車幾點來")
    theirs = ask(client, "結婚登記")
    response = client.post("/api/v1/chatbot/feedback", {"conversation_id": mine["conversation_id"],
                           "turn_id": theirs["turn_id"], "helpful": True}, content_type="application/json")  # fmt: skip

    assert response.status_code == 404


def test_the_index_follows_a_new_entry_at_once(client, knowledge, staff):
    question = "鴿子築巢"  # nothing in the shipped knowledge is about pigeons
    assert ask(client, question)["answers"][:1] != [{"id": "F9999"}]

    services.entry_save(actor=staff["city_admin"], data=services.EntryInput(
        external_id="F9999", question="鴿子在陽台築巢怎麼處理", answer="可洽動物保護處，或請合格業者協助移除鳥巢。", knowledge_base=knowledge))  # fmt: skip

    assert ask(client, question)["answers"][0]["id"] == "F9999"
    services.entry_deactivate(actor=staff["city_admin"], entry=Entry.objects.get(external_id="F9999"))
    assert "F9999" not in [a["id"] for a in ask(client, question)["answers"]]


def test_a_venue_key_asks_at_its_venue(client, knowledge, staff):
    raw, _key = services.venue_api_key_create(actor=staff["city_admin"], venue=Venue.objects.get(code="library"),
                                              name="robot")  # fmt: skip

    body = client.post("/api/v1/chatbot/ask", {"question": "廁所在哪"}, content_type="application/json",
                       HTTP_X_API_KEY=raw).json()  # fmt: skip

    assert body["answers"][0]["id"] == "V-library-1"
    assert Turn.objects.get(pk=body["turn_id"]).conversation.channel == "robot"


def test_a_key_without_the_scope_or_a_bad_key_is_refused(client, knowledge, staff, districts):
    agency = staff["city_admin"].staff_roles.first().agency
    raw, _ = api_key_create(actor=None, name="other", partner="p", agency=agency, scopes=["eservices.kiosk"],
                            expires_at=timezone.now() + datetime.timedelta(days=1))  # fmt: skip

    wrong_scope = client.post("/api/v1/chatbot/ask", {"question": "廁所"}, content_type="application/json",
                              HTTP_X_API_KEY=raw)  # fmt: skip
    bad_key = client.post("/api/v1/chatbot/ask", {"question": "廁所"}, content_type="application/json",
                          HTTP_X_API_KEY="cs_nope_nope")  # fmt: skip

    assert wrong_scope.status_code == 403
    assert bad_key.status_code == 401
    assert ApiKey.objects.count() == 1


def test_a_paraphrase_sharing_no_word_with_the_entry_meets_it_through_the_lexicon(client, knowledge):
    body = ask(client, "坐月子期間有錢可以領嗎")  # the entry says 生育津貼; no word in common

    assert body["answers"][0]["id"] == "F0017"


@pytest.mark.parametrize("question", ["推薦好看的電影", "筆電哪一台好", "你是機器人嗎"])
def test_off_topic_questions_without_a_city_term_are_out_of_scope(client, knowledge, question):
    assert ask(client, question)["outcome"] == "out_of_scope"


def test_an_off_topic_word_next_to_a_city_term_is_still_answered(client, knowledge):
    body = ask(client, "停車費可以用手機繳嗎")

    assert body["outcome"] == "answered" and body["answers"][0]["id"] == "F0026"
