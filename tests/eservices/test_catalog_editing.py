"""Agency staff keep their catalog without code: item details, blank forms (PDF/ODT/DOCX, checked by
their bytes), and the online form as a list of questions that becomes a new JSON Schema version."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from civicstack.core.models import AuditEvent
from civicstack.eservices import demo, form_builder, form_schema, services
from civicstack.eservices.errors import InvalidAttachment, InvalidFormDefinition
from civicstack.eservices.forms import QuestionForm
from civicstack.eservices.models import BlankForm, FormDefinition, ServiceItem

from .conftest import make_item, office_of, pdf_file, png_file

Question = form_builder.Question


@pytest.fixture
def office_item(db, districts):
    return make_item("T-OFFICE", agency=office_of(districts[0]), name="低收入戶證明申請")


def test_every_demo_form_round_trips_through_the_builder(office_item):
    for with_attachment in (True, False):
        schema, layout = demo.form_for(office_item, with_attachment=with_attachment)
        questions = form_builder.questions_from_definition(schema, layout)
        assert questions is not None
        rebuilt = form_builder.definition_from_questions(questions, title=office_item.name)
        assert form_builder.questions_from_definition(*rebuilt) == questions
        by_name = {question.name: question for question in questions}
        assert by_name["mailing_address"].show_if == "delivery"
        assert by_name["mailing_address"].show_if_value == "郵寄"
        assert by_name["copies"].kind == "integer" and by_name["copies"].maximum == 10
        assert by_name["note"].kind == "long_text"
        assert by_name["phone"].error_message.startswith("請輸入")


def test_a_schema_beyond_the_builder_is_not_simplified():
    schema = {"type": "object", "properties": {"a": {"type": "string", "title": "A"}, "b": {"type": "string", "title": "B"}},
              "dependentSchemas": {"a": {"required": ["b"]}}, "additionalProperties": False}  # fmt: skip
    layout = {"sections": [{"title": "s", "fields": ["a", "b"]}]}
    form_schema.check_definition(schema, layout)
    assert form_builder.questions_from_definition(schema, layout) is None


def test_questions_become_a_valid_schema_with_conditions_and_attachments():
    questions = [
        Question(name="has_children", label="是否有子女", kind="yes_no", section="家庭"),
        Question(name="children", label="子女人數", kind="integer", section="家庭", required=True, minimum=1,
                 maximum=12, show_if="has_children", show_if_value="true"),
        Question(name="school", label="就讀學校", kind="text", section="家庭", show_if="has_children", show_if_value="true"),
        Question(name="name", label="姓名", kind="text", section="家庭", required=True, prefill="person.name"),
        Question(name="services", label="需要的服務", kind="choices", section="需求", options=["托育", "課後照顧", "交通"]),
        Question(name="proof", label="證明文件", kind="attachment", section="附件", required=True, accept=["pdf"],
                 max_bytes=2 * 1024 * 1024),
    ]  # fmt: skip
    schema, layout = form_builder.definition_from_questions(questions, title="育兒津貼")
    assert [section["title"] for section in layout["sections"]] == ["家庭", "需求", "附件"]
    assert layout["prefill"] == {"name": "person.name"}
    conditions = form_schema.show_conditions(schema)
    assert conditions["children"] == ("has_children", "true")
    assert conditions["school"] == ("has_children", "true")  # optional, still hidden until it applies
    ok = {
        "has_children": True,
        "children": 2,
        "services": ["托育"],
        "proof": "attachment:1",
        "name": "陳美玲",
    }
    assert form_schema.validate(schema, ok) == {}
    assert "children" in form_schema.validate(schema, {**ok, "children": 0})
    missing = dict(ok)
    del missing["children"]
    assert set(form_schema.validate(schema, missing)) == {"children"}  # required because it applies
    assert form_schema.validate(schema, {**missing, "has_children": False}) == {}
    assert form_schema.attachment_fields(schema)["proof"]["x-accept"] == ["pdf"]
    assert form_builder.questions_from_definition(schema, layout) == questions


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ([], "at least one question"),
        ([Question(name="a", label="A", kind="text", section="s"), Question(name="a", label="B", kind="text", section="s")],
         "same name"),
        ([Question(name="Bad-name", label="A", kind="text", section="s")], "lower-case"),
        ([Question(name="a", label="A", kind="choice", section="s", options=["only"])], "two different options"),
        ([Question(name="a", label="A", kind="long_text", section="s")], "more than 200"),
        ([Question(name="a", label="A", kind="text", section="s", max_length=500)], "use a long text"),
        ([Question(name="a", label="A", kind="date", section="s", pattern="x")], "text questions only"),
        ([Question(name="a", label="A", kind="text", section="s", pattern="([")], "regular expression"),
        ([Question(name="a", label="A", kind="integer", section="s", minimum=5, maximum=1)], "larger than"),
        ([Question(name="a", label="A", kind="text", section="s", show_if="b", show_if_value="x"),
          Question(name="b", label="B", kind="text", section="s")], "comes after it"),
        ([Question(name="a", label="A", kind="text", section="s", show_if="zzz", show_if_value="x")], "not another question"),
        ([Question(name="a", label="A", kind="attachment", section="s", accept=["exe"])], "x-accept"),
        ([Question(name="a", label="A", kind="text", section="s", prefill="person.identifier")], "registry source"),
    ],
)  # fmt: skip
def test_questions_that_cannot_work_are_refused_by_name(questions, message):
    with pytest.raises(InvalidFormDefinition) as caught:
        form_builder.definition_from_questions(questions)
    assert message in caught.value.message


def _formset_post(questions: list[Question], *, extra_blank: int = 2, **buttons) -> dict:
    data = {"q-TOTAL_FORMS": str(len(questions) + extra_blank), "q-INITIAL_FORMS": str(len(questions)),
            "q-MIN_NUM_FORMS": "0", "q-MAX_NUM_FORMS": "1000", **buttons}  # fmt: skip
    for index, question in enumerate(questions):
        for key, value in QuestionForm.initial_of(question).items():
            if value in (None, "", False, []):
                continue
            name = f"q-{index}-{key}"
            if isinstance(value, list):
                data[name] = value
            else:
                data[name] = "on" if value is True else str(value)
        data[f"q-{index}-ORDER"] = str(index + 1)
    return data


def test_a_supervisor_adds_a_question_and_publishes_a_new_version(office_item, staff, client_for):
    client = client_for(staff["supervisor_a"])
    page = client.get(f"/eservices/staff/items/{office_item.code}/form/")
    assert page.status_code == 200
    assert "申請用途" in page.content.decode()  # the current version's questions, ready to edit
    current = services.current_form(office_item)
    questions = form_builder.questions_from_definition(current.schema, current.layout)
    questions.append(Question(name="school_year", label="學年度", kind="integer", section="申請內容", required=True,
                              minimum=100, maximum=130))  # fmt: skip

    preview = client.post(
        f"/eservices/staff/items/{office_item.code}/form/", _formset_post(questions, preview="1")
    )
    assert preview.status_code == 200
    assert 'id="f-school_year"' in preview.content.decode()
    assert services.current_form(office_item).version == current.version  # a preview saves nothing

    saved = client.post(
        f"/eservices/staff/items/{office_item.code}/form/", _formset_post(questions, publish="1")
    )
    assert saved.status_code == 302
    new = services.current_form(office_item)
    assert new.version == current.version + 1
    assert new.schema["properties"]["school_year"]["minimum"] == 100
    assert "school_year" in new.schema["required"]
    old = FormDefinition.objects.get(pk=current.pk)  # applications filled with it keep it unchanged
    assert old.is_published and "school_year" not in old.schema["properties"]


def test_a_bad_question_is_reported_and_nothing_saved(office_item, staff, client_for):
    client = client_for(staff["supervisor_a"])
    versions = office_item.form_versions.count()
    questions = [Question(name="kind", label="類別", kind="choice", section="s", options=["甲"])]
    response = client.post(
        f"/eservices/staff/items/{office_item.code}/form/", _formset_post(questions, publish="1")
    )
    assert response.status_code == 400
    assert "two different options" in response.content.decode()
    assert office_item.form_versions.count() == versions


def test_only_the_agency_s_managers_edit_its_items(office_item, staff, client_for):
    assert (
        client_for(staff["clerk_a"]).get(f"/eservices/staff/items/{office_item.code}/form/").status_code
        == 403
    )
    assert client_for(staff["clerk_b"]).get(f"/eservices/staff/items/{office_item.code}/").status_code == 404
    clerk_page = client_for(staff["clerk_a"]).get(f"/eservices/staff/items/{office_item.code}/")
    assert clerk_page.status_code == 200 and "Only supervisors" in clerk_page.content.decode()
    refused = client_for(staff["clerk_a"]).post(
        f"/eservices/staff/items/{office_item.code}/", {"action": "save"}
    )
    assert refused.status_code == 403
    assert office_item.code in client_for(staff["clerk_a"]).get("/eservices/staff/items/").content.decode()
    assert (
        office_item.code not in client_for(staff["clerk_b"]).get("/eservices/staff/items/").content.decode()
    )


def test_a_supervisor_changes_the_fee_and_time_limit(office_item, staff, client_for):
    client = client_for(staff["supervisor_a"])
    data = {"action": "save", "name": office_item.name, "category": office_item.category, "fee": "20",
            "time_limit_days": "7", "cross_district": office_item.cross_district, "channel": "store",
            "office_kind": "", "is_active": "on", "description": "新的說明"}  # fmt: skip
    assert client.post(f"/eservices/staff/items/{office_item.code}/", data).status_code == 302
    office_item.refresh_from_db()
    assert (office_item.fee, office_item.time_limit_days, office_item.channel) == (20, 7, "store")
    assert AuditEvent.objects.filter(action="eservices.item.changed", object_id=str(office_item.pk)).exists()
    bad = client.post(f"/eservices/staff/items/{office_item.code}/", {**data, "time_limit_days": "0"})
    assert bad.status_code == 400
    office_item.refresh_from_db()
    assert office_item.time_limit_days == 7


def test_an_item_keeps_its_code_and_agency(office_item, staff):
    data = services.ItemInput(
        agency=office_item.agency, code="OTHER", name="x", category="y", time_limit_days=3
    )
    with pytest.raises(services.InvalidInput):
        services.item_update(actor=staff["supervisor_a"], item=office_item, data=data)
    assert ServiceItem.objects.filter(code="T-OFFICE").exists()


def odt_file(name="form.odt") -> SimpleUploadedFile:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    document.text.addElement(P(text="申請書"))
    buffer = io.BytesIO()
    document.write(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def docx_file(name="form.docx", *, with_document=True) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        if with_document:
            archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return SimpleUploadedFile(name, buffer.getvalue())


@pytest.mark.parametrize(("upload", "content_type"), [
    (lambda: pdf_file("form.pdf"), "application/pdf"),
    (odt_file, "application/vnd.oasis.opendocument.text"),
    (docx_file, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
])  # fmt: skip
def test_blank_forms_of_each_type_are_added_and_downloadable(office_item, staff, client_for, upload, content_type,
                                                             settings, tmp_path):  # fmt: skip
    settings.MEDIA_ROOT = str(tmp_path)
    client = client_for(staff["supervisor_a"])
    response = client.post(f"/eservices/staff/items/{office_item.code}/",
                           {"action": "upload", "title": "空白申請書", "file": upload()})  # fmt: skip
    assert response.status_code == 302
    blank = office_item.blank_forms.get(title="空白申請書")
    assert blank.content_type == content_type
    assert (tmp_path / blank.file.name).exists()
    client.post(f"/eservices/staff/items/{office_item.code}/", {"action": "remove", "blank_form": blank.pk})
    assert not office_item.blank_forms.filter(pk=blank.pk).exists()


@pytest.mark.parametrize(("upload", "reason"), [
    (lambda: png_file("form.pdf"), "PDF, ODT or DOCX"),
    (lambda: docx_file(with_document=False), "PDF, ODT or DOCX"),
    (lambda: SimpleUploadedFile("form.docx", b"PK\x03\x04 not really a zip"), "PDF, ODT or DOCX"),
    (lambda: pdf_file("big.pdf", size=services.BLANK_FORM_MAX_BYTES + 1), "larger than"),
])  # fmt: skip
def test_a_wrong_blank_form_is_refused_and_nothing_is_stored(
    office_item, staff, upload, reason, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    before = BlankForm.objects.count()
    with pytest.raises(InvalidAttachment) as caught:
        services.blank_form_add(actor=staff["supervisor_a"], item=office_item, title="x", upload=upload())
    assert reason in caught.value.message
    assert BlankForm.objects.count() == before
    assert not any(path.is_file() for path in tmp_path.rglob("*"))
