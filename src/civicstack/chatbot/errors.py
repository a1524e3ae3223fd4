"""Errors of the chatbot module: each is a core ServiceError, so the API turns it into the envelope."""

from civicstack.core.errors import InvalidInput


class ImportInvalid(InvalidInput):
    """A knowledge file has bad rows; ``details`` lists each as ``{"line", "errors"}`` and nothing was imported."""

    code = "import_invalid"


class EntryInvalid(InvalidInput):
    code = "entry_invalid"
