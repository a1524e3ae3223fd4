"""Open data API under a real HTTP load: ``package_search`` over the report's 1,381 datasets and
``datastore_search`` on a 1,000,000-row datastore table, served by gunicorn in its own processes
and driven by concurrent clients from this process. Prints p50/p95 and requests/s of each, against
two baselines measured in the same run:

  * floor: ``status_show`` through the same stack (routing, envelope, JSON, no query), and
  * naive: what a plain implementation does — read every dataset (or every row of the table) and
    filter, facet and page in Python — timed on a few requests.

Targets (issue 9): package_search p95 < 50 ms; datastore_search on the 1M-row table p95 < 100 ms;
throughput above 1,069,132 API calls a month (0.41/s) by a thousandfold, i.e. > 410 requests/s.

    python bench/opendata_search.py [--database-url postgres://.../civicstack_bench_opendata]
                                    [--rows 1000000] [--requests 3000] [--concurrency 8] [--workers 2]

It builds a fresh database (default: a new SQLite file under /tmp; with --database-url, that
PostgreSQL database is dropped and created again), never your demo database.
"""

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from support import fresh_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
TARGET_RPS = 1_069_132 / (30 * 24 * 3600) * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(durations: list[float], p: int) -> float:
    return statistics.quantiles(durations, n=100)[p - 1] * 1000


def load(base: str, paths: list[str], concurrency: int) -> tuple[list[float], float, int]:
    """GET every path with ``concurrency`` keep-alive-less clients; durations, wall time, errors."""
    durations: list[float] = []
    errors = 0
    lock = threading.Lock()

    def one(path: str) -> None:
        nonlocal errors
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(base + path, timeout=30) as response:  # noqa: S310 - our own server
                body = response.read()
                ok = response.status == 200 and b'"success": true' in body
        except OSError:
            ok = False
        elapsed = time.perf_counter() - started
        with lock:
            durations.append(elapsed)
            errors += not ok

    wall_started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, paths))
    return durations, time.perf_counter() - wall_started, errors


def report(
    name: str, durations: list[float], wall: float, errors: int, floor_p95: float, target_ms: float | None
):
    p50, p95 = percentile(durations, 50), percentile(durations, 95)
    rps = len(durations) / wall
    verdict = ""
    if target_ms is not None:
        verdict = f"target p95 < {target_ms:.0f} ms {'met' if p95 < target_ms else 'MISSED'}; "
    verdict += f"{rps / (TARGET_RPS / 1000):,.0f}x the report's 0.41 calls/s"
    print(f"{name:<34} p50 {p50:7.2f}  p95 {p95:7.2f} ms  {rps:7.1f} req/s  errors {errors}   "
          f"floor p95 {floor_p95:6.2f} ms  ratio {p95 / floor_p95:5.2f}   {verdict}")  # fmt: skip


def q(params: dict) -> str:
    return urllib.parse.urlencode(params)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reuse-database", action="store_true",
                        help="PostgreSQL only: measure the database a previous run loaded, skip the load")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        if args.reuse_database and args.database_url:
            setup_django(var_dir, args.database_url)
        else:
            fresh_database(var_dir, args.database_url)
        from django.db import connection

        from civicstack.opendata import demo, selectors
        from civicstack.opendata.models import Dataset, DatastoreRow, Resource
        from civicstack.opendata.selectors import SearchQuery

        started = time.perf_counter()
        if not Resource.objects.filter(dataset__name=demo.BIG_TABLE_NAME).exists():
            demo._generate_seed(seed=1, big_table_rows=args.rows)
        load_seconds = time.perf_counter() - started
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        big = Resource.objects.get(dataset__name=demo.BIG_TABLE_NAME)
        print(f"# {connection.vendor}: {Dataset.objects.count():,} datasets, {DatastoreRow.objects.count():,} datastore "  # noqa: E501
              f"rows (big table {big.datastore_row_count:,}), loaded in {load_seconds:.0f} s; {os.cpu_count()} cores, "
              f"gunicorn {args.workers} workers, {args.concurrency} concurrent clients, Python {sys.version.split()[0]}")  # fmt: skip

        port = free_port()
        env = dict(os.environ, CIVICSTACK_VAR_DIR=var_dir, DJANGO_SETTINGS_MODULE="civicstack.settings",
                   PYTHONPATH=str(ROOT / "src"))  # fmt: skip
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        else:
            env.pop("DATABASE_URL", None)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(
            [str(gunicorn), "civicstack.wsgi:application", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
             "--log-level", "warning"],
            env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(base + "/api/3/action/status_show", timeout=1)  # noqa: S310
                    break
                except OSError:
                    time.sleep(0.1)
            rng = random.Random(7)
            words = ["停車", "自行車", "水位", "旅宿", "醫療", "排放", "竊盜", "學校", "公車", "回收"]
            fqs = ["", "res_format:CSV", "tags:即時水位", "groups:transport", "license_id:gov-tw-open-1"]
            search_paths = [
                "/api/3/action/package_search?"
                + q(
                    {
                        "q": rng.choice(words),
                        "fq": rng.choice(fqs),
                        "rows": 20,
                        "start": rng.choice([0, 0, 20, 40]),
                        "facet.field": '["organization","res_format","tags","groups","license_id"]',
                        "facet.limit": 10,
                    }
                )  # fmt: skip
                for _ in range(args.requests)
            ]
            districts = sorted(
                {
                    r["行政區"]
                    for r in DatastoreRow.objects.filter(resource=big).values_list("data", flat=True)[:2000]
                }
            )
            store_paths = []
            for index in range(args.requests):
                params = {"resource_id": str(big.id), "limit": 100}
                kind = index % 3
                if kind == 0:  # a page deep in the table
                    params["offset"] = rng.randrange(0, max(1, args.rows - 100))
                elif kind == 1:  # a filter on a field, first page with its total
                    params["filters"] = json.dumps({"停車場代號": f"P{rng.randint(1, 400):04d}"})
                else:  # a filter and a field selection
                    params["filters"] = json.dumps({"行政區": rng.choice(districts)})
                    params["fields"] = "停車場名稱,剩餘車位數"
                store_paths.append("/api/3/action/datastore_search?" + q(params))
            load(base, ["/api/3/action/status_show"] * 50, 2)  # warm up every worker
            floor = load(base, ["/api/3/action/status_show"] * args.requests, args.concurrency)
            floor_p95 = percentile(floor[0], 95)
            report("status_show (floor)", *floor, floor_p95, None)
            report(
                "package_search (q, fq, 5 facets)", *load(base, search_paths, args.concurrency), floor_p95, 50
            )
            report(
                "datastore_search (1M-row table)", *load(base, store_paths, args.concurrency), floor_p95, 100
            )
        finally:
            server.terminate()
            server.wait(timeout=20)

        # Naive baselines, in-process: everything read, then filtered and faceted in Python.
        def naive_search(word: str) -> int:
            datasets = list(
                Dataset.objects.filter(state="public").prefetch_related("tags", "resources", "groups")
            )
            hits = [
                d
                for d in datasets
                if word in d.title or word in d.notes or any(word in t.name for t in d.tags.all())
            ]
            facets: dict = {}
            for d in hits:
                for r in d.resources.all():
                    facets[r.format] = facets.get(r.format, 0) + 1
            return len(hits[:20])

        def naive_store(code: str) -> int:
            rows = [data for data in DatastoreRow.objects.filter(resource=big).values_list("data", flat=True).iterator(chunk_size=10_000)
                    if data["停車場代號"] == code]  # fmt: skip
            return len(rows[:100])

        def timed(fn, samples):
            out = []
            for sample in samples:
                t = time.perf_counter()
                fn(sample)
                out.append(time.perf_counter() - t)
            return out

        ours_search = timed(lambda w: selectors.package_search(None, SearchQuery(
            q=w, rows=20, facet_fields=["organization", "res_format", "tags", "groups", "license_id"], facet_limit=10)), words * 5)  # fmt: skip
        naive_s = timed(naive_search, words * 2)
        print(f"{'package_search in-process':<34} p95 {percentile(ours_search, 95):8.2f} ms   naive (all datasets "
              f"filtered in Python) p95 {percentile(naive_s, 95):8.2f} ms   ratio {percentile(naive_s, 95) / percentile(ours_search, 95):6.1f}x faster")  # fmt: skip
        codes = [f"P{rng.randint(1, 400):04d}" for _ in range(5)]
        ours_store = timed(
            lambda c: selectors.datastore_search(big, filters={"停車場代號": c}, limit=100), codes * 4
        )
        naive_d = timed(naive_store, codes[:3])
        print(f"{'datastore_search in-process':<34} p95 {percentile(ours_store, 95):8.2f} ms   naive (all rows "
              f"filtered in Python) p95 {percentile(naive_d, 95):8.2f} ms   ratio {percentile(naive_d, 95) / percentile(ours_store, 95):6.1f}x faster")  # fmt: skip


if __name__ == "__main__":
    main()
