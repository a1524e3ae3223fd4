"""Reading many rows fast: ``rows_of(queryset)`` returns a ``values_list()`` queryset's rows as
plain tuples, for columns of plain types (numbers, text, dates, timestamps); ``fetch_rows(sql,
params)`` does the same for a raw query (PostgreSQL only).

On PostgreSQL the timestamps are loaded by psycopg's C loader. Django installs its own loader for
``timestamptz`` (a Python subclass, to attach the connection's time zone), which for the thousands
of timestamps a card-tap batch reads cost more than pricing the taps. The C loader gives the same
instants, aware, in the session's time zone (UTC, as Django sets it). Elsewhere, and for any other
kind of queryset, the rows are Django's own."""

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models.query import ValuesListIterable


def fetch_rows(sql: str, params) -> list[tuple]:
    """The rows of a raw PostgreSQL query, timestamps through psycopg's C loader."""
    from psycopg.types.datetime import TimestamptzLoader

    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)  # psycopg picks the C one
        cursor.execute(sql, params)
        return cursor.fetchall()


def rows_of(queryset) -> list[tuple]:
    if connection.vendor != "postgresql" or queryset._iterable_class is not ValuesListIterable:
        return list(queryset)
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return []
    return fetch_rows(sql, params)
