"""Benchmarks of the core module (`make bench`). Each prints its figure, a baseline measured in
the same run on the same database, and the ratio. Results go in docs/benchmarks.md.

    python bench/run.py [--people 100000] [--database-url postgres://...]
    python bench/run.py --var-dir DIR     # lookups on an existing database, e.g. the seed scale

It works in a fresh var dir under /tmp (never your demo database).
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

from support import fresh_database, setup_django


def report(
    name: str, value: float, unit: str, baseline_name: str, baseline: float, higher_is_better: bool
) -> None:
    ratio = value / baseline if baseline else float("nan")
    better = "higher" if higher_is_better else "lower"
    print(f"{name:<46} {value:>12,.1f} {unit:<10} baseline ({baseline_name}) {baseline:>12,.1f}  "
          f"ratio {ratio:.2f} ({better} is better)")  # fmt: skip


def bench_people_generation(count: int) -> None:
    """Residents written per second through the real path (validate, encrypt, keyed hash, bulk
    insert), against inserting the same rows with the encryption step skipped."""
    from django.db import connection, transaction

    from civicstack.core.demo import generate_people
    from civicstack.core.models import Household, Person

    started = time.perf_counter()
    made = generate_people(count=count, seed=1)
    real_rate = made / (time.perf_counter() - started)

    sample = list(Person.objects.order_by("id").values()[:5000])
    households = list(Household.objects.order_by("id")[:2000])
    copies = []
    for i, row in enumerate(sample):
        row = {k: v for k, v in row.items() if k != "id"}
        row.update(
            id_digest=f"baseline-{i:08d}", id_ciphertext=b"", household_id=households[i % len(households)].pk
        )
        copies.append(Person(**row))
    started = time.perf_counter()
    with transaction.atomic():
        Person.objects.bulk_create(copies, batch_size=1000)
    baseline_rate = len(copies) / (time.perf_counter() - started)
    Person.objects.filter(id_digest__startswith="baseline-").delete()
    report(
        f"people generated ({connection.vendor})",
        real_rate,
        "people/s",
        "plain bulk insert",
        baseline_rate,
        True,
    )


def bench_identifier_lookup(samples: int = 2000) -> None:
    """Exact lookup by national ID (keyed hash + unique index) against lookup by primary key."""
    from django.db import connection

    from civicstack.core import services
    from civicstack.core.models import Person
    from civicstack.core.selectors import person_digest

    rows = list(Person.objects.order_by("?").only("id", "id_ciphertext")[:samples])
    numbers = [(p.pk, services.person_identifier(p)) for p in rows]

    def timed(fn) -> float:
        durations = []
        for pk, number in numbers:
            t = time.perf_counter()
            fn(pk, number)
            durations.append(time.perf_counter() - t)
        return statistics.median(durations) * 1e6

    by_identifier = timed(lambda pk, number: Person.objects.filter(id_digest=person_digest(number)).first())
    by_pk = timed(lambda pk, number: Person.objects.filter(pk=pk).first())
    report(f"lookup by national ID, median ({connection.vendor})", by_identifier, "µs", "by primary key", by_pk,
           False)  # fmt: skip


def bench_audit_append(events: int = 3000) -> None:
    """Audited events per second (chain head lock + HMAC), against plain inserts of the same rows."""
    from django.db import connection, transaction
    from django.utils import timezone

    from civicstack.core import services
    from civicstack.core.audit_chain import verify_chain
    from civicstack.core.models import AuditEvent

    started = time.perf_counter()
    for i in range(events):
        with transaction.atomic():
            services.audit_record(actor=None, action="bench.event", object_type="bench", object_id=str(i))
    chained = events / (time.perf_counter() - started)

    started = time.perf_counter()
    base = 10**9
    for i in range(events):
        with transaction.atomic():
            AuditEvent.objects.create(
                sequence=base + i, created_at=timezone.now(), action="bench.plain", object_type="bench",
                object_id=str(i), previous_hash="", hash="",
            )  # fmt: skip
    plain = events / (time.perf_counter() - started)
    report(f"audit events appended ({connection.vendor})", chained, "events/s", "plain insert", plain, True)

    started = time.perf_counter()
    report_ = verify_chain()
    verify_rate = report_.checked / (time.perf_counter() - started)
    started = time.perf_counter()
    scanned = sum(1 for _ in AuditEvent.objects.order_by("sequence").iterator(chunk_size=5000))
    scan_rate = scanned / (time.perf_counter() - started)
    report(
        f"audit chain verified ({connection.vendor})", verify_rate, "events/s", "plain scan", scan_rate, True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument(
        "--var-dir", help="measure lookups on an existing SQLite database (e.g. after demo-data --scale seed)"
    )
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.var_dir:
        setup_django(args.var_dir, None)  # an existing database: no migrations, nothing dropped
        from civicstack.core.models import Person

        print(f"# existing database in {args.var_dir}: {Person.objects.count():,} people")
        bench_identifier_lookup()
        return
    if not args.inner:
        # One process per database engine, each with a fresh database.
        urls = [None]
        pg = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/civicstack_bench")
        if args.database_url:
            urls = [args.database_url]
        elif subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0:
            urls.append(pg)
        for url in urls:
            command = [sys.executable, __file__, "--inner", "--people", str(args.people)]
            if url:
                command += ["--database-url", url]
            subprocess.run(command, check=True)
        return

    random.seed(1)
    with tempfile.TemporaryDirectory() as var_dir:
        fresh_database(var_dir, args.database_url)
        print(f"# machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {args.people:,} people")
        bench_people_generation(args.people)
        bench_identifier_lookup()
        bench_audit_append()


if __name__ == "__main__":
    main()
