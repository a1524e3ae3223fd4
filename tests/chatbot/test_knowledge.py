"""Knowledge import and export (CSV, XLSX, the API and the CLI), permissions on editing, the online-
application catalog as answers, and the review loop (clusters, phrasings, new entries, statistics)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook, load_workbook

from civicstack.chatbot import selectors, services, transfer
from civicstack.chatbot.errors import ImportInvalid
from civicstack.chatbot.models import Entry, Turn
from civicstack.core.errors import PermissionDenied
from civicstack.core.models import AuditEvent

from .conftest import ask

GOOD_CSV = """id,question,answer,category,venue,phrasings
N001,狗狗晶片在哪裡植入,請至合作動物醫院植入晶片。,動物保護,,寵物晶片|晶片登記
N002,圖書館還書箱在哪,還書箱在總館1樓門口。,圖書館,library,
"""

BAD_CSV = """id,question,answer,category,venue
N101,好問題,好答案,一般,
N102,,沒有問題的答案,一般,
N103,有問題,,一般,nowhere
N101,重複的編號,答案,一般,
"""


def upload(client, content: bytes, name: str, base="hotline-faq"):
    return client.post(
        f"/api/v1/chatbot/import?knowledge_base={base}", {"file": SimpleUploadedFile(name, content)}
    )


def test_a_good_csv_is_imported_and_keeps_the_ids(knowledge, staff, client_for, client):
    response = upload(client_for(staff["city_admin"]), GOOD_CSV.encode("utf-8-sig"), "faq.csv")

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "updated": 0}
    entry = Entry.objects.get(external_id="N002")
    assert entry.venue.code == "library" and entry.phrasing_list() == []
    assert Entry.objects.get(external_id="N001").phrasing_list() == ["寵物晶片", "晶片登記"]
    assert ask(client, "寵物晶片要去哪植入")["answers"][0]["id"] == "N001"
    assert AuditEvent.objects.filter(action="chatbot.entries_imported").count() == 1


def test_a_file_with_bad_rows_imports_nothing_and_names_each_line(knowledge, staff, client_for):
    before = Entry.objects.count()

    response = upload(client_for(staff["city_admin"]), BAD_CSV.encode(), "faq.csv")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_invalid"
    assert [problem["line"] for problem in error["details"]] == [3, 4, 5]
    assert any("Unknown venue nowhere" in message for message in error["details"][1]["errors"])
    assert any("also on line 2" in message for message in error["details"][2]["errors"])
    assert Entry.objects.count() == before
    assert not Entry.objects.filter(external_id="N101").exists()


def test_missing_columns_are_reported(knowledge, staff):
    with pytest.raises(ImportInvalid) as refused:
        transfer.read_rows(b"id,question,answer\nX,Q,A\n", "x.csv")
    assert "category, venue" in refused.value.message


def test_xlsx_import_and_export_round_trip(knowledge, staff):
    workbook = Workbook()
    workbook.active.append(["id", "question", "answer", "category", "venue", "review_on"])
    workbook.active.append(["N201", "公園可以放風箏嗎", "除公告禁止區域外可以。", "公園", "", "2027-01-31"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = services.entries_import(actor=staff["city_admin"], rows=transfer.read_rows(buffer.getvalue(), "k.xlsx"),
                                     knowledge_base=knowledge)  # fmt: skip
    exported = load_workbook(io.BytesIO(transfer.write_xlsx([services.entry_row(e) for e in
                                                             selectors.entries(query="N201")])))  # fmt: skip

    assert (result.created, result.updated) == (1, 0)
    rows = list(exported.active.iter_rows(values_only=True))
    assert rows[0][:5] == ("id", "question", "answer", "category", "venue")
    assert rows[1][0] == "N201" and rows[1][-1] == "2027-01-31"


def test_reimporting_an_export_updates_in_place(knowledge, staff):
    rows = [services.entry_row(e) for e in selectors.entries(knowledge_base="venues")]
    rows[0]["answer"] = "新的答案"

    result = services.entries_import(actor=staff["city_admin"], rows=transfer.read_rows(transfer.write_csv(rows), "v.csv"),
                                     knowledge_base=knowledge)  # fmt: skip

    assert result.created == 0 and result.updated == len(rows)
    assert Entry.objects.get(external_id=rows[0]["id"]).answer == "新的答案"


def test_the_cli_imports_and_exports(knowledge, tmp_path, capsys):
    good, bad, out = tmp_path / "good.csv", tmp_path / "bad.csv", tmp_path / "out.xlsx"
    good.write_text(GOOD_CSV, encoding="utf-8")
    bad.write_text(BAD_CSV, encoding="utf-8")

    call_command("chatbot", "import", str(good), "--base", "life-qa")
    with pytest.raises(CommandError):
        call_command("chatbot", "import", str(bad))
    call_command("chatbot", "export", str(out), "--base", "life-qa")

    output = capsys.readouterr()
    assert "2 entries created" in output.out
    assert "line 3:" in output.err and "line 5:" in output.err
    assert (
        load_workbook(out).active.max_row == 1 + Entry.objects.filter(knowledge_base__key="life-qa").count()
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("citizen", 403), ("clerk_a", 403), ("city_admin", 201)],
)
def test_who_may_create_an_entry_of_no_agency(knowledge, staff, citizen, client_for, who, status):
    user = citizen[0] if who == "citizen" else staff.get(who)
    response = client_for(user).put("/api/v1/chatbot/entries/N301", {"question": "問題", "answer": "答案",
                                    "knowledge_base": "hotline-faq"}, content_type="application/json")  # fmt: skip

    assert response.status_code == status


def test_staff_edit_only_their_agencies_entries(knowledge, staff, client_for):
    office_a = staff["clerk_a"].staff_roles.first().agency
    office_b = staff["clerk_b"].staff_roles.first().agency
    payload = {
        "question": "公所幾點開",
        "answer": "8點。",
        "knowledge_base": "hotline-faq",
        "agency": office_a.code,
    }

    created = client_for(staff["clerk_a"]).put(
        "/api/v1/chatbot/entries/N401", payload, content_type="application/json"
    )
    other = client_for(staff["clerk_b"]).put(
        "/api/v1/chatbot/entries/N401", payload, content_type="application/json"
    )
    moved = client_for(staff["clerk_a"]).put("/api/v1/chatbot/entries/N401", {**payload, "agency": office_b.code},
                                             content_type="application/json")  # fmt: skip
    retired = client_for(staff["clerk_b"]).delete("/api/v1/chatbot/entries/N401")

    assert created.status_code == 201
    assert (other.status_code, moved.status_code, retired.status_code) == (403, 403, 403)
    assert Entry.objects.get(external_id="N401").agency == office_a
    assert client_for(staff["clerk_a"]).delete("/api/v1/chatbot/entries/N401").status_code == 204
    assert not Entry.objects.get(external_id="N401").is_active


def test_an_import_touching_another_agencys_entry_is_refused_whole(knowledge, staff):
    with pytest.raises(ImportInvalid) as refused:
        services.entries_import(actor=staff["clerk_a"], rows=transfer.read_rows(GOOD_CSV.encode(), "x.csv"),
                                knowledge_base=knowledge)  # fmt: skip
    assert [p["line"] for p in refused.value.details] == [
        2,
        3,
    ]  # entries of no agency: city administrators only


def test_the_catalog_becomes_answers(knowledge, db):
    from civicstack.eservices import demo as eservices_demo

    eservices_demo.ensure_catalog()
    result = services.catalog_sync()
    again = services.catalog_sync()

    entry = Entry.objects.get(external_id="APP-SW-LOWINC")
    assert result.created > 20 and again.created == again.updated == 0
    assert entry.link == "/eservices/items/SW-LOWINC/" and entry.knowledge_base.key == "online-applications"
    assert "規費" in entry.answer


def test_the_review_queue_clusters_and_turns_questions_into_phrasings(knowledge, staff, client, client_for):
    for question in ["鴿子在陽台築巢怎麼辦", "鴿子在陽台築巢要怎麼辦", "你好"]:
        ask(client, question)
    helped = ask(client, "垃圾車幾點來")
    client.post("/api/v1/chatbot/feedback", {"conversation_id": helped["conversation_id"], "turn_id": helped["turn_id"],
                "helpful": False}, content_type="application/json")  # fmt: skip
    clerk = client_for(staff["clerk_a"])

    clusters = clerk.get("/api/v1/chatbot/review").json()
    chip = next(c for c in clusters if "鴿子" in c["label"])
    resolved = client_for(staff["city_admin"]).post("/api/v1/chatbot/review", {
        "turn_ids": [q["turn_id"] for q in chip["questions"]], "action": "add_phrasing", "entry_id": "L0025"},
        content_type="application/json")  # fmt: skip

    assert chip["size"] == 2
    assert any(c["unhelpful"] == 1 and c["label"] == "垃圾車幾點來" for c in clusters)
    assert resolved.status_code == 200 and resolved.json() == {"reviewed": 2}
    assert "鴿子在陽台築巢怎麼辦" in Entry.objects.get(external_id="L0025").phrasing_list()
    assert not any("鴿子" in c["label"] for c in clerk.get("/api/v1/chatbot/review").json())
    assert ask(client, "鴿子在陽台築巢怎麼辦")["answers"][0]["id"] == "L0025"
    assert client_for(None).get("/api/v1/chatbot/review").status_code == 401


def test_a_new_entry_from_review_questions(knowledge, staff, citizen, client):
    turn = Turn.objects.get(pk=ask(client, "路邊的共享機車亂停怎麼辦")["turn_id"])

    entry = services.entry_create_from_turns(actor=staff["city_admin"], turns=[turn], data=services.EntryInput(
        external_id="N501", question="共享機車違規停放檢舉", answer="請撥打1999通報。", knowledge_base=knowledge))  # fmt: skip

    assert entry.phrasing_list() == ["路邊的共享機車亂停怎麼辦"]
    assert Turn.objects.get(pk=turn.pk).reviewed_at is not None
    with pytest.raises(PermissionDenied):
        services.turns_mark_reviewed(actor=citizen[0], turns=[turn])


def test_statistics_by_venue_category_and_handoff(knowledge, staff, client, client_for):
    ask(client, "廁所在哪", venue="library")
    ask(client, "你好")
    ask(client, "垃圾車幾點來")

    stats = client_for(staff["clerk_a"]).get("/api/v1/chatbot/statistics").json()

    assert stats["questions"] == 3
    assert stats["handoff_rate"] == pytest.approx(1 / 3)
    assert {v["name"]: v["questions"] for v in stats["by_venue"]} == {"桃園市立圖書館總館": 1, "Web chat": 2}
    assert stats["by_outcome"]["out_of_scope"] == 1
    assert client_for(None).get("/api/v1/chatbot/statistics").status_code == 401
