# ruff: noqa: S608 -- identifiers come from the declared schema and are quoted; values are bound or quoted by sql_literal
"""Typing, checking and appending one batch of raw rows (a CSV of text) to a warehouse table.

All in DuckDB, in one pass over the batch: each declared column is cast with TRY_CAST; a row is
rejected with the first reason that applies (a required value missing, a value that does not fit
its type, an unknown district, a time more than a day in the future, a key repeated in the
batch), counted by reason and sampled, never silently dropped. The kept rows become one Parquet
file. The batch's header and sniffed types are compared with the declared schema (drift).
"""

import datetime
import tempfile
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
    part: str = ""

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


def load_batch(raw_path: Path, *, table: str, schema: list[dict], key: str | None,
               district_codes: list[str], now: datetime.datetime, rollups: list[dict] = ()) -> Outcome:  # fmt: skip
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
    if key and key in present:
        reasons.append(
            f"WHEN row_number() OVER (PARTITION BY {_quote(key)} ORDER BY __line) > 1 THEN 'duplicate {key}'"
        )
    reason = f"CASE {' '.join(reasons)} END" if reasons else "NULL"
    connection.execute(
        f"CREATE TEMP TABLE checked AS SELECT __line, {', '.join(typed)}, {reason} AS __reason FROM raw"
    )
    outcome.rows_in = connection.execute("SELECT count(*) FROM checked").fetchone()[0]
    outcome.rejected_by_reason = dict(
        connection.execute(
            "SELECT __reason, count(*) FROM checked WHERE __reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    )
    outcome.rejected_samples = [
        {"line": line, "reason": why, "row": row}
        for line, why, row in connection.execute(
            "SELECT c.__line, c.__reason, to_json(r)::VARCHAR FROM checked c JOIN raw r USING (__line) "
            f"WHERE c.__reason IS NOT NULL ORDER BY c.__line LIMIT {SAMPLES}"
        ).fetchall()
    ]  # fmt: skip
    outcome.rows_loaded = outcome.rows_in - outcome.rows_rejected
    columns = ", ".join(_quote(column["name"]) for column in schema)
    if outcome.rows_loaded:
        outcome.quality = {
            row[0]: {"type": row[1], "min": _text(row[2]), "max": _text(row[3]), "distinct": row[4],
                     "null_percent": _number(row[-1])}
            for row in connection.execute(
                f"SELECT column_name, column_type, min, max, approx_unique, null_percentage "
                f"FROM (SUMMARIZE SELECT {columns} FROM checked WHERE __reason IS NULL)"
            ).fetchall()
        }  # fmt: skip
        kept = f"SELECT {columns} FROM checked WHERE __reason IS NULL ORDER BY __line"
        outcome.part = _write_part(connection, table, kept)
        if rollups:
            connection.execute(f"CREATE TEMP VIEW batch AS {kept}")
            for rollup in rollups:
                _write_part(connection, rollup["table"], rollup["sql"])
    connection.close()
    return outcome


def _write_part(connection, table: str, query: str) -> str:
    final = warehouse.new_part_path(table)
    with tempfile.NamedTemporaryFile(dir=final.parent, suffix=".tmp", delete=False) as handle:
        temporary = Path(handle.name)
    connection.execute(
        f"COPY ({query}) TO {warehouse.sql_literal(str(temporary))} (FORMAT parquet, COMPRESSION zstd)"
    )
    warehouse.publish_part(temporary, final)
    return str(final)


def _text(value) -> str | None:
    return None if value is None else str(value)[:40]


def _number(value) -> float | None:
    try:
        return round(float(value), 2)
    except (TypeError, ValueError):
        return None
