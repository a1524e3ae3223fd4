"""The datastore: every tabular resource's rows in one table, one JSON object a row.

Why one table of JSON rows rather than a table per resource (CKAN's way): it needs no DDL at run
time (no schema changes from user uploads, no migrations drift, same code on SQLite and
PostgreSQL), and replacing a resource's rows is a plain delete + bulk insert inside the
transaction that also swaps the resource's field list, so readers never see half a load. The
cost: filters and sorts on a field are JSON-path expressions without per-field indexes; paging in
row order uses the (resource, row_id) index, the unfiltered total is kept on the resource, and
the totals of one-field filters in ``DatastoreValueCount``.
"""

from django.db import models

from .catalog import Resource


class DatastoreRow(models.Model):
    id = models.BigAutoField(primary_key=True)
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="datastore_rows")
    row_id = models.PositiveIntegerField()  # CKAN's ``_id``: 1-based, in file order
    data = models.JSONField()
    search_text = models.TextField(default="")  # lower-cased values joined, for ``q``

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "row_id"], name="opendata_datastore_row_unique")
        ]

    def __str__(self) -> str:
        return f"{self.resource_id}#{self.row_id}"


class DatastoreValueCount(models.Model):
    """How many rows of a resource's table hold a value in a field, written with the rows (same
    transaction, replaced with every load): the exact total of an equality filter without
    counting the matches, which on a large table means reading every page that holds one.

    Only values of at least ``MIN_ROWS`` rows are kept (fewer are cheap to count), and only for
    fields whose values are all scalars. A missing entry therefore means "count the rows", never 0.
    ``value`` is ``value_key`` of the JSON value, so it equals what jsonb equality equates.
    """

    MIN_ROWS = 100

    id = models.BigAutoField(primary_key=True)
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="datastore_value_counts")
    field = models.TextField()
    value = models.TextField()
    rows = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "field", "value"], name="opendata_datastore_value_count_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.field}={self.value}: {self.rows}"


def value_key(value) -> str | None:
    """A scalar JSON value as a string that two values share exactly when jsonb equality (the
    datastore filter's containment) equates them: strings, booleans and numbers apart (Python's
    ``True == 1`` is not jsonb's), ``1`` and ``1.0`` together. None for null, non-finite numbers
    and arrays or objects (containment is not equality for those)."""
    if isinstance(value, bool):
        return "b1" if value else "b0"
    if isinstance(value, str):
        return "s" + value
    if isinstance(value, int):
        return f"n{value}"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return f"n{int(value)}" if value.is_integer() else f"n{value!r}"
    return None
