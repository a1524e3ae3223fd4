"""Forms as data: definitions are checked as JSON Schema with a complete layout; answers are
validated with the schema's conditional rules, and each error names its field."""

import pytest

from civicstack.eservices import form_schema
from civicstack.eservices.demo import form_for
from civicstack.eservices.errors import InvalidFormDefinition
from civicstack.eservices.models import ServiceItem

SCHEMA, LAYOUT = form_for(ServiceItem(name="測試"), with_attachment=True)
GOOD = {"applicant_name": "王小明", "phone": "0912345678", "purpose": "就學", "delivery": "臨櫃領取",
        "supporting_document": "attachment:1"}  # fmt: skip


def test_good_answers_have_no_errors():
    assert form_schema.validate(SCHEMA, GOOD) == {}


def test_missing_required_answers_are_named():
    errors = form_schema.validate(SCHEMA, {"applicant_name": "王小明"})
    assert set(errors) == {"phone", "purpose", "delivery", "supporting_document"}
    assert form_schema.validate(SCHEMA, {"applicant_name": "王小明"}, partial=True) == {}


def test_bad_values_are_named_with_the_forms_own_message():
    errors = form_schema.validate(
        SCHEMA, {**GOOD, "phone": "12", "purpose": "觀光", "copies": 11, "email": "x"}
    )
    assert errors["phone"] == "請輸入市話或手機號碼,例如 0912-345678"
    assert set(errors) == {"phone", "purpose", "copies", "email"}


@pytest.mark.parametrize(
    ("extra", "missing"),
    [({"delivery": "郵寄"}, "mailing_address"), ({"purpose": "其他"}, "purpose_other")],
)
def test_conditional_questions_become_required(extra, missing):
    assert set(form_schema.validate(SCHEMA, {**GOOD, **extra})) == {missing}
    assert form_schema.validate(SCHEMA, {**GOOD, **extra, missing: "桃園市中壢區中正路1號"}) == {}


def test_unknown_fields_are_refused():
    assert set(form_schema.validate(SCHEMA, {**GOOD, "salary": "1"})) == {"salary"}


def test_show_conditions_come_from_if_then():
    assert form_schema.show_conditions(SCHEMA) == {"mailing_address": ("delivery", "郵寄"),
                                                   "purpose_other": ("purpose", "其他")}  # fmt: skip


def test_coerce_types_html_answers():
    raw = {"copies": ["2"], "applicant_name": [" 王小明 "], "phone": [""], "email": []}
    assert form_schema.coerce(SCHEMA, raw) == {"copies": 2, "applicant_name": "王小明"}
    assert form_schema.coerce(SCHEMA, {"copies": ["two"]}) == {"copies": "two"}


def test_national_id_format():
    schema = {"type": "object", "properties": {"id": {"type": "string", "format": "tw-national-id"}}}
    assert form_schema.validate(schema, {"id": "A123456789"}) == {}
    assert set(form_schema.validate(schema, {"id": "A123456788"})) == {"id"}


@pytest.mark.parametrize(
    ("schema", "layout"),
    [
        ([], LAYOUT),
        ({"type": "object", "properties": {"a": {"type": "nonsense"}}}, {"sections": [{"fields": ["a"]}]}),
        ({"type": "object", "properties": {}}, {"sections": []}),
        (SCHEMA, {"sections": [{"title": "x", "fields": ["applicant_name"]}]}),
        (SCHEMA, {**LAYOUT, "prefill": {"phone": "person.id_number"}}),
        (
            {
                "type": "object",
                "properties": {"f": {"type": "string", "format": "attachment", "x-accept": ["exe"]}},
            },
            {"sections": [{"fields": ["f"]}]},
        ),
    ],
)
def test_bad_definitions_are_refused(schema, layout):
    with pytest.raises(InvalidFormDefinition):
        form_schema.check_definition(schema, layout)


def test_good_definition_passes():
    form_schema.check_definition(SCHEMA, LAYOUT)
