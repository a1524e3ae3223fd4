"""The datastore: every tabular resource's rows in one table, one JSON object a row.

Why one table of JSON rows rather than a table per resource (CKAN's way): it needs no DDL at run
time (no schema changes from user uploads, no migrations drift, same code on SQLite and
PostgreSQL), and replacing a resource's rows is a plain delete + bulk insert inside the
transaction that also swaps the resource's field list, so readers never see half a load. The
cost: filters and sorts on a field are JSON-path expressions without per-field indexes; paging in
row order uses the (resource, row_id) index, and the unfiltered total is kept on the resource.
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
