# ruff: noqa: S608 -- identifiers come from the declared schema and are quoted; values are bound or quoted by sql_literal
"""Typing, checking and appending one batch of raw rows (a CSV of text) to a warehouse table.

All in DuckDB, in one pass over the batch: each declared column is cast with TRY_CAST; a row is
rejected with the first reason that applies (a required value missing, a value that does not fit
its type, an unknown district, a time more than a day in the future, a key repeated in the
batch), counted by reason and sampled, never silently dropped. A row whose natural key is already
in the warehouse (an HTTP feed that answers the last 24 hours on every pull, a file dropped twice)
is skipped and counted as a duplicate: an anti-join against the key columns of the table's
Parquet files, narrowed by the batch's key ranges so DuckDB reads only the row groups whose
statistics overlap. The kept rows become one Parquet part, written pending (invisible to readers)
until the load commits (warehouse.publish_pending). The batch's header and sniffed types are
compared with the declared schema (drift).
"""

import datetime
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import warehouse
from .connectors import LOCAL

SAMPLES = 20
FUTURE_TOLERANCE = datetime.timedelta(days=1)


@dataclass
class Outcome:
    rows_in: int = 0
    rows_loaded: int = 0
    rejected_by_reason: dict = field(default_factory=dict)
    rejected_samples: list = field(default_factory=list)
    drift: dict = field(default_factory=dict)
    quality: dict = field(default_factory=dict)
    duplicates_skipped: int = 0
    part: str = ""  # the part's file name (the same in the table's and its rollups' folders)
    parts: list[Path] = field(default_factory=list)  # final paths, still pending

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected_by_reason.values())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _drift(connection, raw_path: str, schema: list[dict]) -> dict:
    sniffed = dict(
        (row[0], row[1])
        for row in connection.execute(f"DESCRIBE SELECT * FROM read_csv({warehouse.sql_literal(raw_path)}, header = true, sample_size = 2048)").fetchall()
    )  # fmt: skip
    declared = {column["name"]: column["type"] for column in schema}
    retyped = []
    for name, kind in declared.items():
        found = sniffed.get(name)
        if found is None or found == "VARCHAR" and kind == "VARCHAR":
            continue
        want, got = warehouse.TYPE_FAMILIES.get(kind, "text"), warehouse.TYPE_FAMILIES.get(found, "text")
        # Text-like ids that happen to be numeric are fine; a number column that reads as text is not.
        if want != "text" and want != got and not (want == "boolean" and got == "number"):
            retyped.append({"column": name, "declared": kind, "found": found})
    return {
        "new": sorted(set(sniffed) - set(declared)),
        "missing": sorted(set(declared) - set(sniffed)),
        "retyped": retyped,
    }


def key_columns(key) -> list[str]:
    """A source's natural key: one column name or a list of them (older sources: a string)."""
    if not key:
        return []
    return [key] if isinstance(key, str) else list(key)


def load_batch(raw_path: Path, *, table: str, schema: list[dict], key: str | list[str] | None,
               district_codes: list[str], now: datetime.datetime, rollups: list[dict] = (),
               pending_files: list[str] = ()) -> Outcome:  # fmt: skip
    """Type, check and write one batch. ``pending_files``: parts of the same table written earlier
    in this (not yet committed) load run, checked for duplicates like the published ones."""
    connection = duckdb.connect(":memory:")
    path = warehouse.sql_literal(str(raw_path))
    outcome = Outcome()
    try:
        connection.execute(
            f"CREATE TEMP TABLE raw AS SELECT row_number() OVER () AS __line, * "
            f"FROM read_csv({path}, header = true, all_varchar = true, null_padding = true)"
        )
    except duckdb.Error as error:
        if "No files found" in str(error) or "empty" in str(error).lower():
            return outcome
        raise
    outcome.drift = _drift(connection, str(raw_path), schema)
    present = {row[0] for row in connection.execute("DESCRIBE raw").fetchall()}
    typed, reasons = [], []
    for column in schema:
        name, kind = column["name"], column["type"]
        text = f"NULLIF(trim({_quote(name)}), '')" if name in present else "CAST(NULL AS VARCHAR)"
        value = f"TRY_CAST({text} AS {kind})"
        typed.append(f"{value} AS {_quote(name)}")
        if column.get("required"):
            reasons.append(f"WHEN {text} IS NULL THEN 'missing {name}'")
        reasons.append(f"WHEN {text} IS NOT NULL AND {value} IS NULL THEN 'invalid {name} ({kind.lower()})'")
        if kind == "TIMESTAMP":
            limit = (now + FUTURE_TOLERANCE).astimezone(LOCAL).replace(tzinfo=None).isoformat(sep=" ")
            reasons.append(f"WHEN {value} > TIMESTAMP '{limit}' THEN 'future {name}'")
    if "district" in {column["name"] for column in schema}:
        codes = ", ".join(warehouse.sql_literal(code) for code in district_codes) or "NULL"
        reasons.append(f"WHEN NULLIF(trim(district), '') NOT IN ({codes}) THEN 'unknown district'")
    keys = key_columns(key)
    if keys and all(name in present for name in keys):
        partition = ", ".join(_quote(name) for name in keys)
        reasons.append(
            f"WHEN row_number() OVER (PARTITION BY {partition} ORDER BY __line) > 1 THEN 'duplicate {', '.join(keys)}'"
        )
    reason = f"CASE {' '.join(reasons)} END" if reasons else "NULL"
    connection.execute(
        f"CREATE TEMP TABLE typed AS SELECT __line, {', '.join(typed)}, {reason} AS __reason FROM raw"
    )
    connection.execute("CREATE TEMP TABLE skipped (__line BIGINT)")
    if keys and all(name in present for name in keys):
        outcome.duplicates_skipped = _skip_loaded(connection, table, schema, keys, pending_files)
    # A join, not an UPDATE of the typed rows: rewriting 200,000 wide rows took seconds.
    connection.execute(
        "CREATE TEMP VIEW checked AS SELECT t.*, s.__line IS NOT NULL AS __skipped "
        "FROM typed t LEFT JOIN skipped s ON t.__line = s.__line"
    )
    outcome.rows_in = connection.execute("SELECT count(*) FROM checked").fetchone()[0]
    outcome.rejected_by_reason = dict(
        connection.execute(
            "SELECT __reason, count(*) FROM checked WHERE __reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
    )
    outcome.rejected_samples = [
        {"line": line, "reason": why, "row": row}
        for line, why, row in connection.execute(
            "SELECT c.__line, c.__reason, to_json(r)::VARCHAR FROM checked c JOIN raw r USING (__line) "
            f"WHERE c.__reason IS NOT NULL ORDER BY c.__line LIMIT {SAMPLES}"
        ).fetchall()
    ]  # fmt: skip
    outcome.rows_loaded = outcome.rows_in - outcome.rows_rejected - outcome.duplicates_skipped
    columns = ", ".join(_quote(column["name"]) for column in schema)
    if outcome.rows_loaded:
        outcome.quality = {
            row[0]: {"type": row[1], "min": _text(row[2]), "max": _text(row[3]), "distinct": row[4],
                     "null_percent": _number(row[-1])}
            for row in connection.execute(
                f"SELECT column_name, column_type, min, max, approx_unique, null_percentage "
                f"FROM (SUMMARIZE SELECT {columns} FROM checked WHERE __reason IS NULL AND NOT __skipped)"
            ).fetchall()
        }  # fmt: skip
        kept = f"SELECT {columns} FROM checked WHERE __reason IS NULL AND NOT __skipped ORDER BY __line"
        main = _write_part(connection, table, kept)
        outcome.part, outcome.parts = main.name, [main]
        if rollups:
            connection.execute(f"CREATE TEMP VIEW batch AS {kept}")
            for rollup in rollups:
                outcome.parts.append(_write_part(connection, rollup["table"], rollup["sql"], name=main.name))
    connection.close()
    return outcome


def _skip_loaded(connection, table: str, schema: list[dict], keys: list[str], pending_files) -> int:
    """Fill ``skipped`` with the lines whose key the warehouse already holds; returns how many.

    Only the key columns of the table's files are read, and only where they can overlap the
    batch: each key column's min and max over the batch become a filter DuckDB checks against
    the Parquet row-group statistics, so a re-pull of the last day reads the last day's row
    groups, not the table's history."""
    files = warehouse.table_files(table) + [str(path) for path in pending_files]
    if not files:
        return 0
    kinds = {column["name"]: column["type"] for column in schema}
    bounds = connection.execute(
        "SELECT " + ", ".join(f"min({_quote(k)})::VARCHAR, max({_quote(k)})::VARCHAR" for k in keys)
        + " FROM typed WHERE __reason IS NULL"
    ).fetchone()  # fmt: skip
    if bounds[0] is None:
        return 0
    ranges = " AND ".join(
        f"{_quote(k)} BETWEEN CAST({warehouse.sql_literal(bounds[2 * i])} AS {kinds[k]}) "
        f"AND CAST({warehouse.sql_literal(bounds[2 * i + 1])} AS {kinds[k]})"
        for i, k in enumerate(keys)
    )  # fmt: skip
    listed = ", ".join(warehouse.sql_literal(path) for path in files)
    matches = " AND ".join(f"t.{_quote(k)} = loaded.{_quote(k)}" for k in keys)
    connection.execute(
        f"INSERT INTO skipped SELECT t.__line FROM typed t JOIN (SELECT DISTINCT {', '.join(_quote(k) for k in keys)} "
        f"FROM read_parquet([{listed}], union_by_name = true) WHERE {ranges}) AS loaded ON {matches} "
        f"WHERE t.__reason IS NULL"
    )  # fmt: skip
    return connection.execute("SELECT count(*) FROM skipped").fetchone()[0]


def _write_part(connection, table: str, query: str, *, name: str | None = None) -> Path:
    """Write a part under its pending name; returns the final path it takes on commit."""
    final = warehouse.new_part_path(table, name)
    connection.execute(
        f"COPY ({query}) TO {warehouse.sql_literal(str(warehouse.pending_path(final)))} "
        f"(FORMAT parquet, COMPRESSION zstd)"
    )
    return final


def _text(value) -> str | None:
    return None if value is None else str(value)[:40]


def _number(value) -> float | None:
    try:
        return round(float(value), 2)
    except (TypeError, ValueError):
        return None
