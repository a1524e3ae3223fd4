"""Forms as data: a JSON Schema (draft 2020-12) for the answers plus a layout for the page.

The schema is an object schema. Each property is a question; its ``title`` is the label and its
``description`` the help text. Types: ``string`` (with ``enum`` for a choice, ``format`` ``date``,
``email`` or ``tw-national-id``), ``integer``, ``number``, ``boolean``, and ``array`` of an
``enum`` string (several choices). Attachments are ``{"type": "string", "format": "attachment",
"x-accept": ["pdf", "jpeg", "png"], "x-max-bytes": 5242880}``. Conditional questions use the
standard ``if``/``then`` (in ``allOf`` for several) or ``dependentRequired``/``dependentSchemas``.

The layout: ``{"sections": [{"title": "...", "fields": ["name", ...]}],
"prefill": {"field": "person.name"}}``; every property appears in exactly one section, and prefill
sources are limited to the registry fields in ``PREFILL_SOURCES``.
"""

from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from civicstack.core import identity

from .errors import InvalidFormDefinition

ATTACHMENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
DEFAULT_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_MAX_BYTES_LIMIT = 20 * 1024 * 1024
PREFILL_SOURCES = {
    "person.name": lambda person: person.name,
    "person.birth_date": lambda person: person.birth_date.isoformat(),
    "person.address": lambda person: person.address,
    "person.phone": lambda person: person.phone,
    "person.email": lambda person: person.email,
    "person.district": lambda person: person.district.name_zh,
}

format_checker = FormatChecker()


@format_checker.checks("tw-national-id", raises=identity.InvalidIdentifier)
def _tw_national_id(value: object) -> bool:
    if not isinstance(value, str):
        return True
    identity.validate(value)
    return True


@format_checker.checks("attachment")
def _attachment(value: object) -> bool:
    # The value is the attachment's reference, set by the service after the file passed its checks.
    return not isinstance(value, str) or value.startswith("attachment:")


def _validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=format_checker)


def attachment_fields(schema: dict) -> dict[str, dict]:
    return {
        name: spec
        for name, spec in schema.get("properties", {}).items()
        if spec.get("type") == "string" and spec.get("format") == "attachment"
    }


def check_definition(schema: Any, layout: Any) -> None:
    """Refuse a form definition that is not a valid object schema with a complete layout."""
    if not isinstance(schema, dict):
        raise InvalidFormDefinition("the schema must be a JSON object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidFormDefinition(f"the schema is not valid JSON Schema: {exc.message}") from exc
    properties = schema.get("properties")
    if schema.get("type") != "object" or not isinstance(properties, dict) or not properties:
        raise InvalidFormDefinition('the schema must be {"type": "object"} with at least one property')
    for name, spec in properties.items():
        if not name.isidentifier() or len(name) > 60:
            raise InvalidFormDefinition(
                f"property name {name!r} must be an identifier of at most 60 characters"
            )
        if spec.get("format") == "attachment":
            accept = spec.get("x-accept", list(ATTACHMENT_TYPES))
            if not accept or any(kind not in ATTACHMENT_TYPES for kind in accept):
                raise InvalidFormDefinition(f"{name}: x-accept may list only {sorted(ATTACHMENT_TYPES)}")
            limit = spec.get("x-max-bytes", DEFAULT_ATTACHMENT_MAX_BYTES)
            if not isinstance(limit, int) or not 0 < limit <= ATTACHMENT_MAX_BYTES_LIMIT:
                raise InvalidFormDefinition(
                    f"{name}: x-max-bytes must be between 1 and {ATTACHMENT_MAX_BYTES_LIMIT}"
                )
    if not isinstance(layout, dict) or not isinstance(layout.get("sections"), list):
        raise InvalidFormDefinition('the layout must be {"sections": [{"title": ..., "fields": [...]}]}')
    placed: list[str] = []
    for section in layout["sections"]:
        if not isinstance(section, dict) or not isinstance(section.get("fields"), list):
            raise InvalidFormDefinition("each layout section needs a list of fields")
        placed.extend(section["fields"])
    if sorted(placed) != sorted(properties):
        missing, unknown = set(properties) - set(placed), set(placed) - set(properties)
        raise InvalidFormDefinition(
            "every property must appear in exactly one layout section",
            details={"missing": sorted(missing), "unknown": sorted(unknown)},
        )
    for field, source in (layout.get("prefill") or {}).items():
        if field not in properties or source not in PREFILL_SOURCES:
            raise InvalidFormDefinition(
                f"prefill {field!r} ← {source!r}: unknown field or source",
                details={"sources": sorted(PREFILL_SOURCES)},
            )


def coerce(schema: dict, raw: dict[str, list[str]]) -> dict:
    """Answers from an HTML form (every value a list of strings) typed as the schema says.
    Values that cannot be converted are kept as strings so that validation reports them."""
    data: dict[str, Any] = {}
    for name, spec in schema.get("properties", {}).items():
        values = [value.strip() for value in raw.get(name, []) if isinstance(value, str)]
        kind = spec.get("type")
        if kind == "array":
            chosen = [value for value in values if value]
            if chosen:
                data[name] = chosen
            continue
        value = values[0] if values else ""
        if kind == "boolean":
            if value:
                data[name] = value in ("true", "on", "1", "yes")
            continue
        if value == "":
            continue
        if kind == "integer":
            try:
                data[name] = int(value)
            except ValueError:
                data[name] = value
        elif kind == "number":
            try:
                data[name] = float(value)
            except ValueError:
                data[name] = value
        else:
            data[name] = value
    return data


def _message(error) -> str:
    spec = error.schema if isinstance(error.schema, dict) else {}
    custom = spec.get("x-error")
    if custom and error.validator not in ("required", "dependentRequired"):
        return str(custom)
    messages = {
        "required": _("This field is required."),
        "dependentRequired": _("This field is required."),
        "type": _("Enter a value of the right kind."),
        "enum": _("Choose one of the options."),
        "const": _("Choose one of the options."),
        "format": _("Enter a valid value."),
        "pattern": _("The value is not in the expected format."),
        "maxLength": _("The value is too long."),
        "minLength": _("The value is too short."),
        "minimum": _("The value is too small."),
        "maximum": _("The value is too large."),
        "minItems": _("Choose more options."),
        "maxItems": _("Choose fewer options."),
        "additionalProperties": _("This field is not part of the form."),
    }
    return str(messages.get(error.validator, _("The value is not valid.")))


def validate(schema: dict, data: dict, *, partial: bool = False) -> dict[str, str]:
    """Errors by field name ("" for the form as a whole); empty when the answers are valid.
    ``partial`` (a draft) skips missing answers but still checks those given."""
    errors: dict[str, str] = {}
    for error in _validator(schema).iter_errors(data):
        if error.validator in ("required", "dependentRequired"):
            if partial:
                continue
            wanted = error.validator_value
            if isinstance(wanted, dict):  # dependentRequired: {"a": ["b", "c"]}
                wanted = [name for names in wanted.values() for name in names]
            container = error.instance if isinstance(error.instance, dict) else {}
            for name in wanted:
                if name not in container:
                    errors.setdefault(name, _message(error))
            continue
        if error.validator == "additionalProperties":
            for name in data:
                if name not in schema.get("properties", {}):
                    errors.setdefault(name, _message(error))
            continue
        field = str(error.absolute_path[0]) if error.absolute_path else ""
        errors.setdefault(field, _message(error))
    return errors


def show_conditions(schema: dict) -> dict[str, tuple[str, str]]:
    """Questions shown only when another answer has a given value, from ``if``/``then`` rules of
        the simple form ``if {properties: {q: {const: v}}} then {required: [...]}``, and from a property's
    ``"x-show-if": {"field": q, "equals": v}``: {field: (q, v)}.
        Pages use these to hide questions that do not apply (they are all shown without JavaScript)."""
    rules = [schema, *schema.get("allOf", [])]
    shown: dict[str, tuple[str, str]] = {}
    for rule in rules:
        condition, then = rule.get("if"), rule.get("then")
        if not isinstance(condition, dict) or not isinstance(then, dict):
            continue
        props = condition.get("properties", {})
        if len(props) != 1:
            continue
        ((question, test),) = props.items()
        if not isinstance(test, dict) or "const" not in test:
            continue
        value = test["const"]
        value = "true" if value is True else "false" if value is False else str(value)
        for name in then.get("required", []):
            shown[name] = (question, value)
    # An optional question that applies only to some answers (the form builder writes these).
    for name, spec in schema.get("properties", {}).items():
        condition = spec.get("x-show-if") if isinstance(spec, dict) else None
        if isinstance(condition, dict) and {"field", "equals"} <= condition.keys():
            shown.setdefault(name, (str(condition["field"]), str(condition["equals"])))
    return shown


def prefill(layout: dict, person) -> dict:
    return {field: PREFILL_SOURCES[source](person) for field, source in (layout.get("prefill") or {}).items()
            if source in PREFILL_SOURCES}  # fmt: skip
