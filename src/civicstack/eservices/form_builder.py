"""The form builder: an item's online form as a list of questions that agency staff edit on a page,
turned into the JSON Schema + layout that every form version is stored as (and back).

Staff pick a kind of question (short text, choice, date, attachment, ...) and fill in a label,
options and checks; they never see JSON. The JSON Schema stays the one format forms are stored,
validated and served in (docs/eservices.md, "Form format"), so a version made here and one pasted as
JSON by a developer behave the same. A version using JSON Schema features the builder has no field
for (e.g. ``dependentSchemas``) is not shown in the builder, never silently simplified:
``questions_from_definition`` returns None unless turning the questions back into a schema gives
the same definition.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from . import form_schema
from .errors import InvalidFormDefinition

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SHORT_TEXT_MAX = 200  # the apply page shows a text area for longer answers

KINDS = {
    "text": _("Short text"),
    "long_text": _("Long text (more than 200 characters)"),
    "integer": _("Whole number"),
    "number": _("Number"),
    "date": _("Date"),
    "email": _("E-mail address"),
    "national_id": _("National ID number"),
    "choice": _("One choice"),
    "choices": _("Several choices"),
    "yes_no": _("Yes / no (a checkbox)"),
    "attachment": _("Attachment (file)"),
}
_FORMAT_OF_KIND = {
    "date": "date",
    "email": "email",
    "national_id": "tw-national-id",
    "attachment": "attachment",
}
_KIND_OF_FORMAT = {value: key for key, value in _FORMAT_OF_KIND.items()}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


@dataclass
class Question:
    name: str
    label: str
    kind: str
    section: str
    required: bool = False
    help: str = ""
    options: list[str] = field(default_factory=list)
    min_length: int | None = None
    max_length: int | None = None
    pattern: str = ""
    error_message: str = ""
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    accept: list[str] = field(default_factory=list)
    max_bytes: int | None = None
    show_if: str = ""  # another question's name: this one applies only when that answer is ...
    show_if_value: str = ""  # ... this value
    prefill: str = ""  # a registry source of form_schema.PREFILL_SOURCES

    def as_dict(self) -> dict:
        return asdict(self)


def _problem(question: Question, message: str) -> InvalidFormDefinition:
    return InvalidFormDefinition(
        f"{question.name or question.label}: {message}", details={"question": question.name}
    )


def _property(question: Question) -> dict:
    """The JSON Schema of one question's answer."""
    kind = question.kind
    spec: dict[str, Any] = {}
    if kind in ("integer", "number"):
        spec["type"] = kind
    elif kind == "yes_no":
        spec["type"] = "boolean"
    elif kind == "choices":
        spec["type"] = "array"
        spec["items"] = {"type": "string", "enum": list(question.options)}
        spec["uniqueItems"] = True
    else:
        spec["type"] = "string"
    spec["title"] = question.label
    if question.help:
        spec["description"] = question.help
    if kind in _FORMAT_OF_KIND:
        spec["format"] = _FORMAT_OF_KIND[kind]
    if kind == "choice":
        spec["enum"] = list(question.options)
    if question.min_length is not None:
        spec["minLength"] = question.min_length
    if question.max_length is not None:
        spec["maxLength"] = question.max_length
    if question.pattern:
        spec["pattern"] = question.pattern
    if question.error_message:
        spec["x-error"] = question.error_message
    if question.minimum is not None:
        spec["minimum"] = question.minimum
    if question.maximum is not None:
        spec["maximum"] = question.maximum
    if question.default not in (None, ""):
        spec["default"] = question.default
    if kind == "attachment":
        spec["x-accept"] = list(question.accept or form_schema.ATTACHMENT_TYPES)
        spec["x-max-bytes"] = question.max_bytes or form_schema.DEFAULT_ATTACHMENT_MAX_BYTES
    if question.show_if and not question.required:
        # Required conditional questions are shown by their if/then rule; optional ones need this.
        spec["x-show-if"] = {"field": question.show_if, "equals": question.show_if_value}
    return spec


def _check(questions: list[Question]) -> None:
    if not questions:
        raise InvalidFormDefinition("a form needs at least one question")
    names = [question.name for question in questions]
    for question in questions:
        if not _NAME.match(question.name):
            raise _problem(
                question, "a question's name is lower-case letters, digits and _, starting with a letter"
            )
        if names.count(question.name) > 1:
            raise _problem(question, "two questions have the same name")
        if not question.label.strip():
            raise _problem(question, "a question needs a label")
        if question.kind not in KINDS:
            raise _problem(question, f"unknown kind {question.kind!r}")
        if question.kind in ("choice", "choices") and len(set(question.options)) < 2:
            raise _problem(question, "a choice needs at least two different options")
        if question.kind not in ("choice", "choices") and question.options:
            raise _problem(question, "only choice questions have options")
        textual = question.kind in ("text", "long_text")
        if not textual and (
            question.min_length is not None or question.max_length is not None or question.pattern
        ):
            raise _problem(question, "lengths and patterns apply to text questions only")
        if question.kind == "long_text" and (question.max_length or 0) <= SHORT_TEXT_MAX:
            raise _problem(
                question, f"a long text allows more than {SHORT_TEXT_MAX} characters: set its maximum length"
            )
        if question.kind == "text" and (question.max_length or 0) > SHORT_TEXT_MAX:
            raise _problem(
                question, f"a short text allows at most {SHORT_TEXT_MAX} characters; use a long text"
            )
        if question.kind not in ("integer", "number") and (
            question.minimum is not None or question.maximum is not None
        ):
            raise _problem(question, "minimum and maximum apply to numbers only")
        if None not in (question.minimum, question.maximum) and question.minimum > question.maximum:
            raise _problem(question, "the minimum is larger than the maximum")
        if (
            None not in (question.min_length, question.max_length)
            and question.min_length > question.max_length
        ):
            raise _problem(question, "the minimum length is larger than the maximum length")
        if question.pattern:
            try:
                re.compile(question.pattern)
            except re.error as exc:
                raise _problem(question, f"the pattern is not a valid regular expression: {exc}") from exc
        if question.kind != "attachment" and (question.accept or question.max_bytes):
            raise _problem(question, "file types and sizes apply to attachments only")
        if question.show_if:
            if question.show_if == question.name or question.show_if not in names:
                raise _problem(
                    question, f"it depends on {question.show_if!r}, which is not another question of the form"
                )
            if names.index(question.show_if) > names.index(question.name):
                raise _problem(question, "it depends on a question that comes after it")
            if not question.show_if_value:
                raise _problem(question, "say which answer of the other question shows it")
        if question.prefill and question.prefill not in form_schema.PREFILL_SOURCES:
            raise _problem(question, f"unknown registry source {question.prefill!r}")


def definition_from_questions(questions: list[Question], *, title: str = "") -> tuple[dict, dict]:
    """The JSON Schema and layout of a list of questions (in order; sections in order of first use).
    Raises InvalidFormDefinition with the question's name for anything that cannot work."""
    _check(questions)
    properties = {question.name: _property(question) for question in questions}
    required = [q.name for q in questions if q.required and not q.show_if]
    conditions: dict[tuple[str, str], list[str]] = {}
    for question in questions:
        if question.show_if and question.required:
            conditions.setdefault((question.show_if, question.show_if_value), []).append(question.name)
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT, "type": "object"}
    if title:
        schema["title"] = title
    schema["properties"] = properties
    schema["required"] = required
    schema["additionalProperties"] = False
    if conditions:
        schema["allOf"] = [
            {"if": {"properties": {on: {"const": _typed_value(questions, on, value)}}, "required": [on]},
             "then": {"required": names}}
            for (on, value), names in conditions.items()
        ]  # fmt: skip
    sections: dict[str, list[str]] = {}
    for question in questions:
        sections.setdefault(question.section.strip(), []).append(question.name)
    layout: dict[str, Any] = {
        "sections": [{"title": name, "fields": fields} for name, fields in sections.items()]
    }
    prefill = {q.name: q.prefill for q in questions if q.prefill}
    if prefill:
        layout["prefill"] = prefill
    form_schema.check_definition(schema, layout)
    return schema, layout


def _typed_value(questions: list[Question], name: str, value: str):
    """The condition's value as the other question's answer is stored (a yes/no answer is a boolean)."""
    other = next(q for q in questions if q.name == name)
    if other.kind == "yes_no":
        return value.lower() in ("true", "yes", "1", "是")
    return value


def _canonical(schema: dict, layout: dict) -> str:
    def normalise(value):
        if isinstance(value, dict):
            return {key: normalise(item) for key, item in value.items() if key != "required" or item}
        if isinstance(value, list):
            return [normalise(item) for item in value]
        return value

    schema = normalise({key: value for key, value in schema.items() if key != "$schema"})
    if isinstance(schema.get("required"), list):
        schema["required"] = sorted(schema["required"])
    if "allOf" in schema:
        schema["allOf"] = sorted(schema["allOf"], key=lambda rule: json.dumps(rule, sort_keys=True))
    return json.dumps([schema, normalise(layout)], sort_keys=True, ensure_ascii=False)


def questions_from_definition(schema: dict, layout: dict) -> list[Question] | None:
    """The questions of a stored form version, or None when it uses anything the builder cannot
    show (then it is edited as JSON in the staff console)."""
    try:
        properties = schema["properties"]
        required = set(schema.get("required", []))
        conditions = form_schema.show_conditions(schema)
        section_of = {
            name: section.get("title", "") for section in layout["sections"] for name in section["fields"]
        }
        order = [name for section in layout["sections"] for name in section["fields"]]
        prefill = layout.get("prefill") or {}
        questions = []
        for name in order:
            spec = properties[name]
            kind = _kind_of(spec)
            shown_by = conditions.get(name) or (
                (spec["x-show-if"]["field"], spec["x-show-if"]["equals"]) if "x-show-if" in spec else None
            )
            questions.append(Question(
                name=name, label=spec.get("title", name), kind=kind, section=section_of[name],
                required=name in required or (name in conditions and "x-show-if" not in spec), help=spec.get("description", ""),
                options=list(spec.get("enum") or spec.get("items", {}).get("enum", [])),
                min_length=spec.get("minLength"), max_length=spec.get("maxLength"), pattern=spec.get("pattern", ""),
                error_message=spec.get("x-error", ""), minimum=spec.get("minimum"), maximum=spec.get("maximum"),
                default=spec.get("default"), accept=list(spec.get("x-accept", [])) if kind == "attachment" else [],
                max_bytes=spec.get("x-max-bytes") if kind == "attachment" else None,
                show_if=shown_by[0] if shown_by else "", show_if_value=shown_by[1] if shown_by else "",
                prefill=prefill.get(name, ""),
            ))  # fmt: skip
        rebuilt = definition_from_questions(questions, title=schema.get("title", ""))
    except (KeyError, TypeError, AttributeError, ValueError, InvalidFormDefinition):
        return None
    return questions if _canonical(*rebuilt) == _canonical(schema, layout) else None


def _kind_of(spec: dict) -> str:
    kind = spec.get("type")
    if kind in ("integer", "number"):
        return kind
    if kind == "boolean":
        return "yes_no"
    if kind == "array":
        return "choices"
    if kind != "string":
        raise ValueError(f"no question kind for type {kind!r}")
    if spec.get("format") in _KIND_OF_FORMAT:
        return _KIND_OF_FORMAT[spec["format"]]
    if "enum" in spec:
        return "choice"
    return "long_text" if spec.get("maxLength", 0) > SHORT_TEXT_MAX else "text"
