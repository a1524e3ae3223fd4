"""Errors of the card module: each is a core ServiceError, so the API turns it into the envelope."""

from civicstack.core.errors import Conflict, InvalidInput


class NotEligible(InvalidInput):
    """``details`` carries every finding, so the applicant sees all that stands in the way."""

    code = "not_eligible"


class InvalidPhoto(InvalidInput):
    code = "invalid_photo"


class CardStateConflict(Conflict):
    code = "card_state_conflict"


class ApplicationStateConflict(Conflict):
    code = "application_state_conflict"
