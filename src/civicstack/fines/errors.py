"""Errors of the fines module: each is a core ServiceError, so the API turns it into the envelope."""

from civicstack.core.errors import Conflict, InvalidInput


class CaseStateConflict(Conflict):
    code = "case_state_conflict"


class AmountOutOfRange(InvalidInput):
    code = "amount_out_of_range"


class InvalidDocument(InvalidInput):
    code = "invalid_document"
