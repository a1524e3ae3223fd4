"""Open data API under a real HTTP load: ``package_search`` over the report's 1,381 datasets and
``datastore_search`` on a 1,000,000-row datastore table, served by gunicorn (gthread workers,
HTTP keep-alive) in its own processes and driven by an asyncio load generator in another process
(persistent connections, more clients than workers).

The request mix: for each action a pool of distinct queries (``--distinct``, default 400) drawn
with a Zipf popularity (``--zipf``, default 1.0: the few most popular queries take most of the
traffic, a long tail is rarely repeated); the bench prints how skewed the drawn sequence is.

Each action is measured twice on the same request sequence, against two servers:

  * cold — the response cache off (``OPENDATA_API_CACHE_BYTES = 0``): every request is computed.
    This is the baseline; the warm figures are given as a ratio of it.
  * first pass — the response cache on and empty (Redis emptied too, so no total the cold run
    counted is left): a query hits only when it was asked before (the steady state of a live
    portal);
  * warm — the response cache on, after the same sequence was sent once to fill it (each
    gunicorn process has its own cache, so a query may still miss on a process that has not
    seen it yet; the share of hits is counted from the responses' ``X-Cache`` header).

Also printed, as before: the floor (``status_show``: routing, envelope, JSON, no query) and the
naive in-process baseline (every dataset or row read and filtered in Python).

Targets (issue 9): package_search p95 < 50 ms; datastore_search on the 1M-row table p95 < 100 ms;
throughput above 1,069,132 API calls a month (0.41/s) by a thousandfold, i.e. > 410 requests/s.

    python bench/opendata_search.py [--database-url postgres://.../civicstack_bench_opendata]
        [--rows 1000000] [--requests 3000] [--clients 8] [--workers 2] [--threads 4]
        [--distinct 400] [--zipf 1.0] [--redis-url redis://127.0.0.1:6379/9] [--reuse-database]
        [--actions datastore_search] [--no-naive] [--server-setting 'PYTHON LINE']

It builds a fresh database (default: a new SQLite file under /tmp; with --database-url, that
PostgreSQL database is dropped and created again), never your demo database. With
--reuse-database (PostgreSQL only) it migrates and measures the database a previous run loaded.
"""

import argparse
import asyncio
import bisect
import itertools
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
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


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the load generator (its own process; asyncio, one persistent connection per client) ----------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            parts.append(chunk[:-2])
        body = b"".join(parts)
    else:
        body = await reader.read()
    close = headers.get("connection", "").lower() == "close"
    return status, body, close, headers.get("x-cache", "").lower() == "hit"


async def _clients(port: int, paths: list[str], clients: int) -> tuple[list[float], float, int, int, int]:
    durations: list[float] = []
    errors = 0
    reconnects = 0
    hits = 0
    queue = iter(paths)

    async def client() -> None:
        nonlocal errors, reconnects, hits
        reader = writer = None
        for path in queue:
            started = time.perf_counter()
            ok = False
            for _attempt in range(2):  # once more on a fresh connection if the server closed it
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                        reconnects += 1
                    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
                    status, body, close, hit = await _read_response(reader)
                    ok = status == 200 and b'"success": true' in body
                    hits += hit
                    if close:
                        writer.close()
                        writer = None
                    break
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    if writer is not None:
                        writer.close()
                    writer = None
            durations.append(time.perf_counter() - started)
            errors += not ok
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return durations, time.perf_counter() - started, errors, reconnects - clients, hits


def _client_process(port: int, paths: list[str], clients: int, out) -> None:
    out.put(asyncio.run(_clients(port, paths, clients)))


def load(port: int, paths: list[str], clients: int) -> tuple[list[float], float, int, int, int]:
    """Send every path with ``clients`` concurrent keep-alive connections from another process."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    process = context.Process(target=_client_process, args=(port, paths, clients, out))
    process.start()
    result = out.get()
    process.join()
    return result


# --- the server ---------------------------------------------------------------------------------


class Server:
    def __init__(self, var_dir: str, args, *, cache: bool):
        self.port = free_port()
        settings_dir = Path(var_dir) / ("settings_cache" if cache else "settings_nocache")
        settings_dir.mkdir(exist_ok=True)
        # The project's settings, with only the response cache switched off for the cold run.
        (settings_dir / "bench_settings.py").write_text(
            "from civicstack.settings import *  # noqa: F403\n"
            + ("" if cache else "OPENDATA_API_CACHE_BYTES = 0\n")
            + "".join(f"{line}\n" for line in args.server_setting)
        )
        env = dict(os.environ, CIVICSTACK_VAR_DIR=var_dir, DJANGO_SETTINGS_MODULE="bench_settings",
                   PYTHONPATH=f"{settings_dir}{os.pathsep}{ROOT / 'src'}")  # fmt: skip
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        else:
            env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        if args.redis_url:  # Django's cache in Redis: filtered totals and responses shared by the workers
            env["REDIS_URL"] = args.redis_url
            # Emptied for every server: the cache-on server starts with no response and no
            # counted total that the cold run left behind (a first pass must really be a first).
            import redis

            redis.Redis.from_url(args.redis_url).flushdb()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [str(gunicorn), "civicstack.wsgi:application", "-w", str(args.workers), "-k", "gthread",
             "--threads", str(args.threads), "--keep-alive", "30", "-b", f"127.0.0.1:{self.port}",
             "--log-level", "warning"],
            env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{self.port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/3/action/status_show", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        load(self.port, ["/api/3/action/status_show"] * 200, args.clients)  # every worker started

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


# --- the request mix ------------------------------------------------------------------------------


def zipf_sequence(pool: list[str], count: int, s: float, rng: random.Random) -> list[str]:
    weights = list(itertools.accumulate(1 / (rank**s) for rank in range(1, len(pool) + 1)))
    return [pool[bisect.bisect_left(weights, rng.random() * weights[-1])] for _ in range(count)]


def describe_mix(sequence: list[str]) -> str:
    counts = sorted((sequence.count(p) for p in set(sequence)), reverse=True)
    top10 = sum(counts[:10]) / len(sequence) * 100
    once = sum(1 for c in counts if c == 1)
    return f"{len(counts)} distinct in {len(sequence):,} requests, top 10 = {top10:.0f}%, {once} seen once"


def q(params: dict) -> str:
    return urllib.parse.urlencode(params)


def search_pool(rng: random.Random, size: int, organizations: list[str], tags: list[str]) -> list[str]:
    words = ["停車", "自行車", "水位", "旅宿", "醫療", "排放", "竊盜", "學校", "公車", "回收", "桃園", "中壢",
             "交通", "空氣", "觀光", "*:*", ""]  # fmt: skip
    fqs = ["", "res_format:CSV", "res_format:JSON", "groups:transport", "groups:environment",
           "license_id:gov-tw-open-1"] + [f"organization:{o}" for o in organizations] + [f'tags:"{t}"' for t in tags]  # fmt: skip
    facet_sets = [
        '["organization","res_format","tags","groups","license_id"]',
        '["organization","res_format"]',
        "",
    ]
    pool: set[str] = set()
    while len(pool) < size:
        params = {"q": rng.choice(words), "fq": rng.choice(fqs), "rows": rng.choice([10, 20, 20]),
                  "start": rng.choice([0, 0, 0, 20, 40])}  # fmt: skip
        facets = rng.choice(facet_sets)
        if facets:
            params["facet.field"] = facets
            params["facet.limit"] = 10
        pool.add("/api/3/action/package_search?" + q(params))
    return sorted(pool, key=lambda _p: rng.random())


def store_pool(rng: random.Random, size: int, resource_id: str, rows: int, districts: list[str]) -> list[str]:
    pool: set[str] = set()
    while len(pool) < size:
        params = {"resource_id": resource_id, "limit": 100}
        kind = rng.randrange(3)
        if kind == 0:  # a page deep in the table
            params["offset"] = rng.randrange(0, max(1, rows - 100) // 100) * 100
        elif kind == 1:  # a filter on a field, first page with its total
            params["filters"] = json.dumps({"停車場代號": f"P{rng.randint(1, 400):04d}"}, ensure_ascii=False)
        else:  # a filter and a field selection
            params["filters"] = json.dumps({"行政區": rng.choice(districts)}, ensure_ascii=False)
            params["fields"] = "停車場名稱,剩餘車位數"
        pool.add("/api/3/action/datastore_search?" + q(params))
    return sorted(pool, key=lambda _p: rng.random())


def line(name: str, result, floor_p95: float | None, target_ms: float | None, baseline=None) -> str:
    durations, wall, errors, reconnects, hits = result
    p50, p95 = percentile(durations, 50), percentile(durations, 95)
    rps = len(durations) / wall
    text = f"{name:<40} p50 {p50:7.2f}  p95 {p95:7.2f} ms  {rps:7.1f} req/s  errors {errors}"
    text += f"  cache hits {hits / len(durations) * 100:3.0f}%"
    if reconnects:
        text += f" reconnects {reconnects}"
    if floor_p95:
        text += f"   p95/floor {p95 / floor_p95:5.2f}"
    if baseline is not None:
        base_p95, base_rps = baseline
        text += f"   vs cold: p95 {base_p95 / p95:5.1f}x lower, {rps / base_rps:5.1f}x req/s"
    if target_ms is not None:
        text += f"   target p95 < {target_ms:.0f} ms {'met' if p95 < target_ms else 'MISSED'}"
        text += f", {rps / (TARGET_RPS / 1000):,.0f}x the report's 0.41 calls/s"
        text += f" ({'met' if rps >= TARGET_RPS else 'MISSED'} 410 req/s)"
    return text + f"   [load {load_average()}]"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gthread threads per worker")
    parser.add_argument("--distinct", type=int, default=400, help="distinct queries per action")
    parser.add_argument("--zipf", type=float, default=1.0, help="popularity skew of the queries")
    parser.add_argument("--redis-url", default=None,
                        help="REDIS_URL for the server (a second, shared cache level), a Redis database of the bench's "
                             "own: it is emptied at the start; default: none, per-process caches only")  # fmt: skip
    parser.add_argument(
        "--actions",
        default="package_search,datastore_search",
        help="which actions to measure (comma-separated), e.g. datastore_search alone while iterating",
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the naive in-process baselines")
    parser.add_argument(
        "--server-setting",
        action="append",
        default=[],
        metavar="LINE",
        help="a line of Python appended to the servers' settings, to measure a settings change, "
        'e.g. \'DATABASES["default"]["CONN_HEALTH_CHECKS"] = False\' (repeatable)',
    )
    parser.add_argument("--reuse-database", action="store_true",
                        help="PostgreSQL only: measure the database a previous run loaded, skip the load")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        if args.reuse_database and args.database_url:
            setup_django(var_dir, args.database_url)
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        else:
            fresh_database(var_dir, args.database_url)
        from django.db import connection

        from civicstack.core.models import Agency
        from civicstack.opendata import demo, selectors
        from civicstack.opendata.models import Dataset, DatastoreRow, Resource, Tag
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
              f"gunicorn {args.workers} gthread workers x {args.threads} threads, {args.clients} keep-alive clients "
              f"(asyncio, own process), Redis {'on' if args.redis_url else 'off'}, Python {sys.version.split()[0]}; "
              f"load average {load_average()}")  # fmt: skip

        rng = random.Random(7)
        organizations = sorted(
            code.lower() for code in Agency.objects.filter(datasets__isnull=False).values_list("code", flat=True).distinct()
        )  # fmt: skip
        tags = sorted(Tag.objects.values_list("name", flat=True))[:40]
        districts = sorted(
            {
                r["行政區"]
                for r in DatastoreRow.objects.filter(resource=big).values_list("data", flat=True)[:2000]
            }
        )
        search_paths = zipf_sequence(
            search_pool(rng, args.distinct, organizations, tags), args.requests, args.zipf, rng
        )
        store_paths = zipf_sequence(
            store_pool(rng, args.distinct, str(big.id), big.datastore_row_count, districts), args.requests, args.zipf, rng
        )  # fmt: skip
        print(f"# query mix, Zipf s={args.zipf}: package_search {describe_mix(search_paths)}; "
              f"datastore_search {describe_mix(store_paths)}")  # fmt: skip

        def p95_rps(result) -> tuple[float, float]:
            return percentile(result[0], 95), len(result[0]) / result[1]

        cold = {}
        for cache in (False, True):  # cold (the baseline) first, then warm against it
            label = "warm" if cache else "cold"
            server = Server(var_dir, args, cache=cache)
            try:
                floor = load(server.port, ["/api/3/action/status_show"] * args.requests, args.clients)
                floor_p95 = percentile(floor[0], 95)
                print(line(f"status_show (floor), {label}", floor, None, None), flush=True)
                for action, paths, target in (
                    ("package_search", search_paths, 50), ("datastore_search 1M", store_paths, 100)
                ):  # fmt: skip
                    if action.split()[0] not in args.actions.split(","):
                        continue
                    if cache:
                        # The first pass starts with empty caches: only repeated queries hit. This
                        # is the steady state of a live portal; the second pass (all hits) is the
                        # upper bound.
                        first = load(server.port, paths, args.clients)
                        print(line(f"{action}, cache on, first pass", first, floor_p95, target, cold.get(action)), flush=True)  # fmt: skip
                    result = load(server.port, paths, args.clients)
                    if not cache:
                        cold[action] = p95_rps(result)
                    print(line(f"{action}, {label}", result, floor_p95, target, cold.get(action) if cache else None), flush=True)  # fmt: skip
            finally:
                server.stop()

        if args.no_naive:
            return

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

        words = ["停車", "自行車", "水位", "旅宿", "醫療", "排放", "竊盜", "學校", "公車", "回收"]
        ours_search = timed(lambda w: selectors.package_search(None, SearchQuery(
            q=w, rows=20, facet_fields=["organization", "res_format", "tags", "groups", "license_id"], facet_limit=10)), words * 5)  # fmt: skip
        naive_s = timed(naive_search, words * 2)
        print(f"{'package_search in-process':<40} p95 {percentile(ours_search, 95):8.2f} ms   naive (all datasets "
              f"filtered in Python) p95 {percentile(naive_s, 95):8.2f} ms   ratio {percentile(naive_s, 95) / percentile(ours_search, 95):6.1f}x faster")  # fmt: skip
        codes = [f"P{rng.randint(1, 400):04d}" for _ in range(5)]
        ours_store = timed(
            lambda c: selectors.datastore_search(big, filters={"停車場代號": c}, limit=100), codes * 4
        )
        naive_d = timed(naive_store, codes[:3])
        print(f"{'datastore_search in-process':<40} p95 {percentile(ours_store, 95):8.2f} ms   naive (all rows "
              f"filtered in Python) p95 {percentile(naive_d, 95):8.2f} ms   ratio {percentile(naive_d, 95) / percentile(ours_store, 95):6.1f}x faster")  # fmt: skip


if __name__ == "__main__":
    main()
