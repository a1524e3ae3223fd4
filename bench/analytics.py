"""Card-use dashboard queries at scale: the warehouse (DuckDB over Parquet) against PostgreSQL.

    python bench/analytics.py [--rows 100000000] [--pg-rows 10000000] [--dir /tmp/analytics-bench]
                              [--database-url postgres://postgres@127.0.0.1:5432/civicstack_bench_analytics]

1. Generates ``--rows`` card uses for one year straight to Parquet with DuckDB (``range()`` and
   hashing; sorted by time, as the incremental loader appends them), under ``--dir`` (not the repo).
2. Runs the four card-use dashboard queries through the warehouse engine exactly as a dashboard
   does (views with row-level security, the chart's SQL and parameters), for the default 30-day
   window and for the whole year, as the city and as one district office.
3. ``--dedupe``: times the loader on a batch of 200,000 card uses against those rows, with the
   natural-key check (anti-join against the table's Parquet, narrowed by row-group statistics),
   with the key checked within the batch only, and with no key: new taps (ids above every stored one, what each incremental load brings) and
   re-delivered taps (ids from the middle of the year, all skipped); ``--dedupe-only`` stops there.
4. Loads ``--pg-rows`` of the same rows (the first ones by id; a scaled sample when smaller than
   ``--rows``) into PostgreSQL with COPY, indexes them as an OLTP table would be, and runs the same
   SQL there; prints each time, the same-run PostgreSQL baseline and the ratio. When PostgreSQL
   holds fewer rows, its time is also scaled linearly to the warehouse's row count and said so.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

KINDS = ["general", "general", "general", "student", "senior", "senior", "disability", "companion", "mobile"]
FUNCTIONS = ["bus_bogo", "bus_bogo", "metro", "youbike", "library", "sports_centre", "swimming_pool", "love_taxi",
             "parking", "merchant"]  # fmt: skip
DISTRICTS = ["68000010", "68000010", "68000020", "68000020", "68000030", "68000040", "68000050", "68000060",
             "68000070", "68000080", "68000090", "68000100", "68000100", "68000110", "68000120", "68000130"]  # fmt: skip
START = "2025-12-01"
YEAR_SECONDS = 365 * 86400


def sql_list(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def generate(directory: Path, rows: int) -> float:
    import duckdb

    started = time.perf_counter()
    table = directory / "card_uses"
    table.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    # A reader serves one function in one district, as real readers do. Rows are generated in time order (id * year / rows), so row groups cover short periods and a
    # date filter skips most of them, as with data appended load by load.
    connection.execute(f"""
        COPY (
          SELECT id AS tap_id,
                 {sql_list(KINDS)}[1 + CAST(hash(id, 1) % {len(KINDS)} AS BIGINT)] AS card_kind,
                 {sql_list(FUNCTIONS)}[1 + CAST(hash(id, 4) % 4000 % {len(FUNCTIONS)} AS BIGINT)] AS function,
                 {sql_list(DISTRICTS)}[1 + CAST(hash(id, 4) % 4000 // 10 % {len(DISTRICTS)} AS BIGINT)] AS district,
                 'R' || lpad(CAST(hash(id, 4) % 4000 AS VARCHAR), 5, '0') AS reader,
                 TIMESTAMP '{START}' + to_seconds(CAST(id * {YEAR_SECONDS} // {rows} AS BIGINT)) AS tapped_at,
                 CAST(hash(id, 5) % 60 AS INTEGER) AS fare,
                 CAST(CASE WHEN hash(id, 6) % 5 = 0 THEN hash(id, 7) % 30 ELSE 0 END AS INTEGER) AS points,
                 CASE WHEN hash(id, 8) % 50 = 0 THEN 'rejected' ELSE 'accepted' END AS status
          FROM range({rows}) t(id)
        ) TO '{table}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880, PER_THREAD_OUTPUT false,
                         FILE_SIZE_BYTES '256MB')
    """)  # noqa: S608
    return time.perf_counter() - started


BETWEEN = "tapped_at >= :date_from AND tapped_at < :date_to + INTERVAL '1' DAY AND (:district = '' OR district = :district)"
# The same four questions asked of the raw rows (one row per tap), without the rollups.
RAW_QUERIES = {
    "uses-per-day": f"""SELECT CAST(tapped_at AS DATE) AS day, card_kind, count(*) AS uses FROM card_uses
        WHERE status = 'accepted' AND {BETWEEN} GROUP BY 1, 2 ORDER BY 1""",
    "district-function": """SELECT d.name AS district, u.function, count(*) AS uses FROM card_uses u
        JOIN districts d ON d.code = u.district WHERE u.status = 'accepted' AND u.tapped_at >= :date_from
        AND u.tapped_at < :date_to + INTERVAL '1' DAY AND (:district = '' OR u.district = :district)
        GROUP BY 1, 2 ORDER BY 1, 2""",
    "top-readers": f"""SELECT reader, function, count(*) AS uses, sum(fare) AS fares FROM card_uses
        WHERE status = 'accepted' AND {BETWEEN} GROUP BY 1, 2 ORDER BY uses DESC LIMIT 20""",
    "points-per-month": f"""SELECT date_trunc('month', tapped_at) AS month, sum(points) AS points FROM card_uses
        WHERE status = 'accepted' AND points > 0 AND {BETWEEN} GROUP BY 1 ORDER BY 1""",
}  # fmt: skip


def dashboard_queries() -> dict[str, tuple[str, list[str]]]:
    """The card-use dashboard's charts exactly as shipped (they read the rollups)."""
    from civicstack.analytics import definitions

    card = next(d for d in definitions.DASHBOARDS if d["slug"] == "card-use")
    return {chart["slug"]: (chart["sql"], chart["parameters"]) for chart in card["charts"]}


def build_rollups(directory: Path) -> float:
    """What the loader writes beside each batch, here over all rows at once (sums stay exact)."""
    import duckdb

    from civicstack.analytics import catalog

    started = time.perf_counter()
    connection = duckdb.connect()
    files = sorted(str(f) for f in (directory / "card_uses").glob("*.parquet"))
    connection.execute(f"CREATE VIEW batch AS SELECT * FROM read_parquet({files!r})")  # noqa: S608
    for rollup in catalog.ROLLUPS["card_uses"]:
        target = directory / rollup["table"]
        subprocess.run(["rm", "-rf", str(target)], check=True)
        target.mkdir(parents=True)
        connection.execute(
            f"COPY ({rollup['sql']}) TO '{target}/part-0.parquet' (FORMAT parquet, COMPRESSION zstd)"
        )
    return time.perf_counter() - started


def dedupe_timing(directory: Path, rows: int, batch: int = 200_000) -> None:
    """The loader on one batch, with and without the natural-key check against ``rows`` stored rows."""
    import datetime

    import duckdb

    from civicstack.analytics import catalog, loader, warehouse

    schema = next(s for s in catalog.SOURCES if s["code"] == "card_uses")["schema"]
    now = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    print(f"\nloader, one batch of {batch:,} card uses against {rows:,} stored (median of 3)")
    for label, first in (("new taps", rows), ("re-delivered taps", rows // 2)):
        raw = directory / f"batch-{first}.csv"
        duckdb.sql(
            f"COPY (SELECT id AS tap_id, 'general' AS card_kind, 'bus_bogo' AS function, '68000010' AS district, "
            f"'R00001' AS reader, TIMESTAMP '2026-06-01' + to_seconds(id % 86400) AS tapped_at, 18 AS fare, "
            f"0 AS points, 'accepted' AS status FROM range({first}, {first + batch}) AS t(id)) TO '{raw}' (HEADER)"
        )  # noqa: S608 -- our own numbers
        results = {}
        # no key; the key checked within the batch only (a table with no parts); and against the stored rows
        variants = {"no key": (None, "card_uses"), "within the batch": (["tap_id"], "card_uses_none"),
                    "against stored rows": (["tap_id"], "card_uses")}  # fmt: skip
        for name, (key, table) in variants.items():
            samples = []
            for _ in range(3):
                started = time.perf_counter()
                outcome = loader.load_batch(raw, table=table, schema=schema, key=key,
                                            district_codes=DISTRICTS, now=now)  # fmt: skip
                samples.append(time.perf_counter() - started)
                for part in outcome.parts:  # never published: the bench's table stays as generated
                    warehouse.pending_path(part).unlink(missing_ok=True)
            results[name] = (statistics.median(samples), outcome)
        subprocess.run(["rm", "-rf", str(directory / "card_uses_none")], check=True)
        stored = results["against stored rows"][1]
        print(f"  {label:18} " + ", ".join(f"{name} {seconds:.2f} s" for name, (seconds, _o) in results.items())
              + f" ({stored.rows_loaded:,} loaded, {stored.duplicates_skipped:,} skipped)")  # fmt: skip
        raw.unlink()


def timed(run, repeat: int = 3) -> float:
    run()  # warm: the first read of a file pays the page cache
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--pg-rows", type=int, default=10_000_000)
    parser.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "analytics-bench"))
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/civicstack_bench_analytics"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep Parquet files of an earlier run with --rows"
    )
    parser.add_argument("--dedupe", action="store_true", help="also time the loader's natural-key check")
    parser.add_argument("--dedupe-only", action="store_true", help="time the natural-key check, then stop")
    args = parser.parse_args()
    directory = Path(args.dir)
    os.environ.update(WAREHOUSE_DIR=str(directory), CIVICSTACK_VAR_DIR=str(directory / "var"),
                      DJANGO_SETTINGS_MODULE="civicstack.settings")  # fmt: skip
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    import datetime

    import duckdb

    from civicstack.analytics import catalog, warehouse

    marker = directory / f"rows-{args.rows}"
    if args.reuse and marker.exists():
        print(f"reusing {args.rows:,} rows in {directory}")
    else:
        subprocess.run(["rm", "-rf", str(directory / "card_uses")], check=True)
        seconds = generate(directory, args.rows)
        marker.touch()
        print(f"generated {args.rows:,} card uses to Parquet in {seconds:.1f} s "
              f"({args.rows / seconds / 1e6:.1f} M rows/s), {sum(f.stat().st_size for f in (directory / 'card_uses').glob('*')) / 1e9:.2f} GB")  # fmt: skip

    if args.dedupe or args.dedupe_only:
        dedupe_timing(directory, args.rows)
        if args.dedupe_only:
            return
    seconds = build_rollups(directory)
    sizes = {t: duckdb.sql(f"SELECT count(*) FROM read_parquet('{directory}/{t}/*.parquet')").fetchall()[0][0]  # noqa: S608
             for t in ("card_uses_daily", "card_uses_reader_daily")}  # fmt: skip
    print(f"rollups built in {seconds:.1f} s: " + ", ".join(f"{t} {n:,} rows" for t, n in sizes.items()))

    source = next(s for s in catalog.SOURCES if s["code"] == "card_uses")
    specs = [
        warehouse.TableSpec(name="card_uses", columns=[(c["name"], c["type"]) for c in source["schema"]])
    ]
    specs += [warehouse.TableSpec(name=r["table"], columns=[(c["name"], c["type"]) for c in r["schema"]])
              for r in catalog.ROLLUPS["card_uses"]]  # fmt: skip
    districts = [(code, code, code, 1) for code in sorted(set(DISTRICTS))]
    viewers = {"city": warehouse.EVERYONE,
               "district office": warehouse.Viewer(all_districts=False, district_codes=frozenset({"68000020"}))}  # fmt: skip
    connections = {who: warehouse.connect(specs, districts, viewer) for who, viewer in viewers.items()}
    start = datetime.date.fromisoformat(START)

    def windows_until(last: datetime.date) -> dict:
        return {"30 days": {"date_from": last - datetime.timedelta(days=29), "date_to": last, "district": ""},
                "whole period": {"date_from": start, "date_to": last, "district": ""}}  # fmt: skip

    dashboard = dashboard_queries()
    variants = {
        "dashboard": {slug: sql for slug, (sql, _declared) in dashboard.items()},
        "raw rows": RAW_QUERIES,
    }
    declared = {slug: names for slug, (_sql, names) in dashboard.items()}
    ours: dict[tuple, float] = {}
    print(
        f"\nwarehouse: DuckDB {duckdb.__version__}, {os.cpu_count()} CPUs, {args.rows:,} card uses over a year"
    )
    for window, parameters in windows_until(start + datetime.timedelta(days=364)).items():
        for variant, queries in variants.items():
            for slug, sql in queries.items():
                values = {name: parameters[name] for name in declared[slug]}
                for who, connection in connections.items():
                    ours[(window, variant, slug, who)] = timed(
                        lambda c=connection, q=sql, v=values: warehouse.run(c, q, v)
                    )

    # The same SQL on PostgreSQL: the first --pg-rows rows by id (the first pg_rows/rows of the year,
    # so a 30-day window holds as many rows per day as in the warehouse) and rollups of them.
    import psycopg

    pg_rows = min(args.pg_rows, args.rows)
    name = args.database_url.rsplit("/", 1)[1]
    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    pg = psycopg.connect(args.database_url.replace("postgres://", "postgresql://"), autocommit=True)
    pg.execute("""CREATE TABLE card_uses (tap_id bigint PRIMARY KEY, card_kind varchar, function varchar,
                  district varchar, reader varchar, tapped_at timestamp, fare integer, points integer, status varchar)""")
    pg.execute(
        "CREATE TABLE districts (code varchar PRIMARY KEY, name varchar, name_en varchar, population bigint)"
    )
    with pg.cursor().copy("COPY districts FROM STDIN") as copy:
        for row in districts:
            copy.write_row(row)
    started = time.perf_counter()
    files = sorted(str(f) for f in (directory / "card_uses").glob("*.parquet"))
    reader = duckdb.connect().execute(
        f"SELECT * FROM read_parquet({files!r}) WHERE tap_id < {pg_rows} ORDER BY tap_id"
    )  # noqa: S608
    with pg.cursor().copy("COPY card_uses FROM STDIN") as copy:
        while batch := reader.fetchmany(200_000):
            for row in batch:
                copy.write_row(row)
    pg.execute("CREATE INDEX card_uses_time ON card_uses (tapped_at)")
    pg.execute("CREATE INDEX card_uses_district_time ON card_uses (district, tapped_at)")
    for rollup in catalog.ROLLUPS["card_uses"]:
        pg.execute(
            f"CREATE TABLE {rollup['table']} AS {rollup['sql'].replace('FROM batch', 'FROM card_uses')}"
        )
        pg.execute(f"CREATE INDEX ON {rollup['table']} (day)")
    pg.execute("VACUUM ANALYZE")
    version = pg.execute("SHOW server_version").fetchone()[0]
    print(f"PostgreSQL {version}: {pg_rows:,} rows copied, indexed (time; district, time) and rolled up "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    covered_days = 365 * pg_rows // args.rows
    scale = args.rows / pg_rows
    print(f"\n{'query':<18} {'window':<13} {'variant':<10} {'as':<16} {'warehouse':>11} {'PostgreSQL':>11} "
          f"{'PG scaled':>11} {'ratio':>7}")  # fmt: skip
    for window, parameters in windows_until(start + datetime.timedelta(days=covered_days - 1)).items():
        for variant, queries in variants.items():
            for slug, sql in queries.items():
                values = {name: parameters[name] for name in declared[slug]}
                for who in viewers:
                    pg_sql = re.sub(r"(?<![:\w]):([a-z_]+)", r"%(\1)s", sql)
                    if who == "district office":  # the row-level security view, as a subquery
                        pg_sql = re.sub(r"FROM (card_uses\w*)( u)?\b",
                                        lambda m: f"FROM (SELECT * FROM {m.group(1)} WHERE district = '68000020') "
                                                  f"{'u' if m.group(2) else 'AS ' + m.group(1)}", pg_sql)  # fmt: skip
                    theirs = timed(lambda q=pg_sql, v=values: pg.execute(q, v).fetchall(), repeat=1)
                    scaled = theirs * scale if window == "whole period" else theirs
                    mine = ours[(window, variant, slug, who)]
                    print(f"{slug:<18} {window:<13} {variant:<10} {who:<16} {mine * 1000:>9.1f}ms {theirs * 1000:>9.1f}ms "
                          f"{scaled * 1000:>9.1f}ms {scaled / mine:>6.1f}x")  # fmt: skip
    print(f"\nwarehouse: {args.rows:,} rows, whole period = 365 days. PostgreSQL: {pg_rows:,} rows = the first "
          f"{covered_days} days at the same rows per day; its whole-period time is scaled × {scale:.0f} "
          "(linear in rows) to compare; 30-day windows hold the same rows in both and are not scaled. "
          "ratio = PostgreSQL (scaled) / warehouse: above 1 the warehouse is faster.")  # fmt: skip


if __name__ == "__main__":
    main()
