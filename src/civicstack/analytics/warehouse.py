# ruff: noqa: S608 -- identifiers come from source schemas; literals go through sql_literal
"""The columnar warehouse: Parquet files under ``WAREHOUSE_DIR/<table>/``, read by DuckDB.

Why files and not one DuckDB database file: a DuckDB database has a single writer process, and
the site runs several gunicorn workers plus the loader. Here the loader is the only writer and
each load adds one new Parquet file (written under a pending name and renamed into place when
the load's database transaction commits, so a reader never sees half a file nor rows that no
committed load records); every query opens a fresh in-memory DuckDB connection that reads the
files directly. Nothing is shared between processes but the files.

Row-level security lives here, not in templates: a connection made for a viewer exposes each
table only as a view already filtered to the viewer's districts (and to nothing, for a table
restricted to an agency the viewer does not act for). Chart SQL is validated to read only those
views (no table functions, no file paths), and the connection's configuration is locked with
file access limited to the warehouse, so a query cannot step around the views.

The SQL is plain ANSI SQL over plain tables; the same text runs on Trino or Spark SQL over the
same Parquet files registered as external tables (docs/analytics.md).
"""

import datetime
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from django.conf import settings

ALLOWED_PARAMETERS = {"date_from": "DATE", "date_to": "DATE", "district": "VARCHAR"}
# ":name" (not "::type" casts, not inside a word) becomes DuckDB's "$name".
PARAMETER_PATTERN = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)\b")
DIMENSION_TABLES = {"districts"}
TYPE_FAMILIES = {
    "BIGINT": "number", "INTEGER": "number", "DOUBLE": "number", "SMALLINT": "number", "TINYINT": "number",
    "HUGEINT": "number", "FLOAT": "number", "DECIMAL": "number", "UBIGINT": "number",
    "TIMESTAMP": "time", "DATE": "time", "TIMESTAMP WITH TIME ZONE": "time", "TIME": "time",
    "BOOLEAN": "boolean", "VARCHAR": "text",
}  # fmt: skip


class QueryRefused(Exception):
    """SQL that is not one SELECT over the warehouse tables, or that DuckDB cannot bind."""


@dataclass(frozen=True)
class Viewer:
    """Whose rows a query may read: all districts or some, and which restricted tables."""

    all_districts: bool
    district_codes: frozenset[str] = frozenset()
    # Codes of the agencies whose restricted tables the viewer may read; None: every agency.
    agency_codes: frozenset[str] | None = frozenset()
    label: str = ""

    @property
    def cache_key(self) -> str:
        districts = "*" if self.all_districts else ",".join(sorted(self.district_codes))
        agencies = "*" if self.agency_codes is None else ",".join(sorted(self.agency_codes))
        return f"{districts}|{agencies}"


EVERYONE = Viewer(all_districts=True, agency_codes=None, label="city")
PUBLIC = Viewer(all_districts=True, agency_codes=frozenset(), label="public")


@dataclass
class TableSpec:
    """A warehouse table as the engine needs it: its columns, and who may read it."""

    name: str
    columns: list[tuple[str, str]]  # (name, DuckDB type)
    owner_agency: str = ""
    restricted: bool = False


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list] = field(default_factory=list)


def root() -> Path:
    return Path(settings.WAREHOUSE_DIR)


def table_dir(table: str) -> Path:
    return root() / table


def table_files(table: str) -> list[str]:
    folder = table_dir(table)
    if not folder.is_dir():
        return []
    return sorted(str(path) for path in folder.glob("*.parquet"))


def sql_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _view_sql(spec: TableSpec, viewer: Viewer, *, empty: bool = False) -> str:
    columns = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind in spec.columns)
    files = [] if empty else table_files(spec.name)
    if files:
        source = f"read_parquet([{', '.join(sql_literal(f) for f in files)}], union_by_name = true)"
    else:
        empty = ", ".join(f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in spec.columns)
        source = f"(SELECT {empty} WHERE false)"
    conditions = []
    if spec.restricted and viewer.agency_codes is not None and spec.owner_agency not in viewer.agency_codes:
        conditions.append("false")
    if not viewer.all_districts and any(name == "district" for name, _ in spec.columns):
        codes = ", ".join(sql_literal(code) for code in sorted(viewer.district_codes)) or "NULL"
        conditions.append(f"district IN ({codes})")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f'CREATE VIEW "{spec.name}" AS SELECT {columns} FROM {source}{where}'


def connect(tables: list[TableSpec], districts: list[tuple[str, str, str, int]], viewer: Viewer,
            *, threads: int | None = None, empty: bool = False) -> duckdb.DuckDBPyConnection:  # fmt: skip
    """A fresh in-memory connection exposing ``tables`` as views filtered for ``viewer``
    (``empty``: the same columns without rows, to check that a query binds)."""
    config = {"threads": threads} if threads else {}
    connection = duckdb.connect(":memory:", config=config)
    connection.execute(
        "CREATE TABLE districts (code VARCHAR, name VARCHAR, name_en VARCHAR, population BIGINT)"
    )
    if districts:
        visible = [row for row in districts if viewer.all_districts or row[0] in viewer.district_codes]
        if visible:
            connection.executemany("INSERT INTO districts VALUES (?, ?, ?, ?)", visible)
    for spec in tables:
        connection.execute(_view_sql(spec, viewer, empty=empty))
    warehouse = str(root().resolve()) + os.sep
    connection.execute(f"SET allowed_directories = [{sql_literal(warehouse)}]")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")
    return connection


def to_duckdb_parameters(sql: str) -> str:
    return PARAMETER_PATTERN.sub(lambda match: "$" + match.group(1), sql)


def parameters_used(sql: str) -> set[str]:
    return set(PARAMETER_PATTERN.findall(_without_strings(sql)))


def _without_strings(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def _walk(node, tables: set[str], ctes: set[str], functions: set[str]) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "BASE_TABLE":
            tables.add(node.get("table_name", "").lower())
            if node.get("schema_name") or node.get("catalog_name"):
                functions.add(f"{node.get('catalog_name')}.{node.get('schema_name')}")
        elif kind == "TABLE_FUNCTION":
            functions.add(node.get("function", {}).get("function_name", "?"))
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map", []):
                ctes.add(str(entry.get("key", "")).lower())
        for value in node.values():
            _walk(value, tables, ctes, functions)
    elif isinstance(node, list):
        for value in node:
            _walk(value, tables, ctes, functions)


def check_sql(
    sql: str,
    *,
    allowed_tables: set[str],
    declared: list[str],
    parser: duckdb.DuckDBPyConnection | None = None,
) -> list[str]:
    """Refuse anything but one SELECT over allowed tables with declared parameters; returns the
    tables read. Binding is checked separately against the real columns (``explain``)."""
    used = parameters_used(sql)
    unknown = sorted(set(declared) - set(ALLOWED_PARAMETERS))
    if unknown:
        raise QueryRefused(f"unknown parameters: {', '.join(unknown)}")
    undeclared = sorted(used - set(declared))
    if undeclared:
        raise QueryRefused(f"parameters used but not declared: {', '.join(undeclared)}")
    parser = parser or duckdb.connect(":memory:")
    try:
        statements = parser.extract_statements(to_duckdb_parameters(sql))
    except duckdb.Error as error:
        raise QueryRefused(str(error).splitlines()[0]) from error
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise QueryRefused("only one SELECT statement is allowed")
    tree = json.loads(
        parser.execute("SELECT json_serialize_sql(?)", [to_duckdb_parameters(sql)]).fetchone()[0]
    )
    if tree.get("error"):
        raise QueryRefused(tree.get("error_message", "the SQL does not parse"))
    tables: set[str] = set()
    ctes: set[str] = set()
    functions: set[str] = set()
    _walk(tree["statements"], tables, ctes, functions)
    if functions:
        raise QueryRefused(
            f"table functions and qualified names are not allowed: {', '.join(sorted(functions))}"
        )
    read = tables - ctes
    outside = sorted(read - allowed_tables - DIMENSION_TABLES)
    if outside:
        raise QueryRefused(f"unknown tables: {', '.join(outside)}")
    return sorted(read)


def sample_parameters(declared: list[str]) -> dict:
    today = datetime.date.today()
    samples = {"date_from": today - datetime.timedelta(days=30), "date_to": today, "district": ""}
    return {name: samples[name] for name in declared}


def explain(connection: duckdb.DuckDBPyConnection, sql: str, parameters: dict) -> None:
    try:
        connection.execute("EXPLAIN " + to_duckdb_parameters(sql), parameters)
    except duckdb.Error as error:
        raise QueryRefused(str(error).splitlines()[0]) from error


def run(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: dict, *, limit: int = 10_000
) -> QueryResult:
    try:
        cursor = connection.execute(to_duckdb_parameters(sql), parameters)
        columns = [description[0] for description in cursor.description]
        rows = cursor.fetchmany(limit)
    except duckdb.Error as error:
        raise QueryRefused(str(error).splitlines()[0]) from error
    return QueryResult(columns=columns, rows=[[_plain(value) for value in row] for row in rows])


def _plain(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    if hasattr(value, "as_integer_ratio") and not isinstance(value, int):  # Decimal
        return float(value)
    return value


# --- writing ------------------------------------------------------------------------------------
#
# A load's parts are written as ``<name>.parquet.pending`` (readers glob ``*.parquet`` and never
# see them) and renamed into place only when the load's database transaction commits. A part
# whose Load row never committed (rolled back, or the process died first) stays pending and is
# deleted by the next load of its source; one whose Load row did commit but whose rename did not
# happen (the process died in between) is published by that next load.

PENDING_SUFFIX = ".pending"


def new_part_path(table: str, name: str | None = None) -> Path:
    """The final path of a new part; a load's parts share one ``name`` across its tables."""
    folder = table_dir(table)
    folder.mkdir(parents=True, exist_ok=True)
    if name is None:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
        name = f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    return folder / name


def pending_path(final: Path) -> Path:
    return final.with_name(final.name + PENDING_SUFFIX)


def publish_pending(finals: list[Path]) -> None:
    """Rename pending parts into place (on commit). A part already published (by a sweep that
    ran between this load's commit and now) is left as it is."""
    for final in finals:
        try:
            os.replace(pending_path(final), final)
        except FileNotFoundError:
            if not final.exists():
                raise


def pending_parts(table: str) -> list[Path]:
    folder = table_dir(table)
    return sorted(folder.glob("*.parquet" + PENDING_SUFFIX)) if folder.is_dir() else []


def sweep_pending(tables: list[str], committed_names: set[str]) -> dict[str, int]:
    """Settle the pending parts of ``tables`` left by earlier loads: publish those whose part
    name a committed Load records, delete the others (their load rolled back). Call it only while
    holding the source's lock, so no load of these tables is in progress."""
    settled = {"published": 0, "deleted": 0}
    for table in tables:
        for pending in pending_parts(table):
            final = pending.with_name(pending.name.removesuffix(PENDING_SUFFIX))
            if final.name in committed_names:
                os.replace(pending, final)
                settled["published"] += 1
            else:
                pending.unlink(missing_ok=True)
                settled["deleted"] += 1
    return settled
