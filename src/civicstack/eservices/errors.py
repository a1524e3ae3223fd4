"""Errors of the eservices module: each is a core ServiceError, so the API turns it into the envelope."""

from civicstack.core.errors import Conflict, InvalidInput


class ApplicationStateConflict(Conflict):
    code = "application_state_conflict"


class FormInvalid(InvalidInput):
    """The answers do not satisfy the form's schema; ``details`` maps each field to its message."""

    code = "form_invalid"


class InvalidAttachment(InvalidInput):
    code = "invalid_attachment"


class RoutingRefused(InvalidInput):
    code = "routing_refused"


class InvalidFormDefinition(InvalidInput):
    code = "invalid_form_definition"
