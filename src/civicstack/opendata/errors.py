"""Errors of the open data module: core ServiceErrors, so the platform API turns them into its
envelope; the CKAN Action API maps them to CKAN's ``__type`` (see ckan_api)."""

from civicstack.core.errors import InvalidInput


class InvalidFile(InvalidInput):
    """A file that cannot be published: malformed, undetectable encoding, ragged rows, too big."""

    code = "invalid_file"


class DatastoreQueryError(InvalidInput):
    """A datastore query naming a field the table does not have, or a bad sort or filter."""

    code = "datastore_query_error"
