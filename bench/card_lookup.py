"""Citizen cards at the report's scale on PostgreSQL: 1,306,546 active cards (the seed demo data, with
their history, school enrolments, function enrolments and the 17 experience events) over 2.2 million
residents. Measures how long the seed generator takes to write the cards (target: under 5 minutes)
and its peak memory, then p50/p95/p99 of

  (a) a card looked up by its number (``selectors.card_by_number``: readers, partners), and
  (b) "my cards" of a random holder (``list(selectors.cards_of_person(person))`` with its prefetch),

each beside the bare primary-key fetch of a row of the same table (``SELECT ... WHERE id = %s``)
measured in the same run. Target: p95 under 20 ms.

    python bench/card_lookup.py [--database-url postgres://...] [--samples 3000]
    python bench/card_lookup.py --people-from DBNAME   # copy the residents of an existing database

It drops and creates its own database (default ``civicstack_bench_card``), never your demo database.
Generating 2.2 million residents through core's demo generator takes 10-30 minutes on the 2-core
machine; ``--people-from`` instead clones (as a PostgreSQL template) a database that holds the
residents and no cards yet, e.g. one made by ``civicstack.core.demo.generate_people``.
Without a PostgreSQL server answering, it prints why and exits.
"""

import argparse
import atexit
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time

from support import recreate_postgres_database, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/civicstack_bench_card"
PEOPLE = 2_200_000


def percentiles(durations: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(durations, n=100)
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000  # ms


def timed(samples, fn) -> list[float]:
    durations = []
    for sample in samples:
        started = time.perf_counter()
        fn(sample)
        durations.append(time.perf_counter() - started)
    return durations


def report(name: str, value: tuple, baseline: tuple) -> None:
    print(f"{name:<44} p50 {value[0]:6.2f}  p95 {value[1]:6.2f}  p99 {value[2]:6.2f} ms   "
          f"baseline p95 {baseline[1]:5.2f} ms   ratio p95 {value[1] / baseline[1]:5.2f}   "
          f"{'target p95 < 20 ms met' if value[1] < 20 else 'TARGET p95 < 20 ms MISSED'}")  # fmt: skip


def postgres_answers(url: str) -> str | None:
    import psycopg

    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[0]
    return None


def clone_database(url: str, template: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    admin.close()


def generate_residents(count: int) -> float:
    """In a child process, so the peak memory measured below is the card generator's own."""
    import multiprocessing

    from django.db import connections

    connections.close_all()

    def work():
        from civicstack.core.demo import ensure_demo_logins, generate_people

        generate_people(count=count, seed=2019)
        ensure_demo_logins()
        connections.close_all()

    started = time.perf_counter()
    child = multiprocessing.get_context("fork").Process(target=work)
    child.start()
    child.join()
    if child.exitcode != 0:
        sys.exit("generating the residents failed")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default=None, help=f"default: $DATABASE_URL if PostgreSQL, else {DEFAULT_URL}"
    )
    parser.add_argument(
        "--people-from", help="a database holding the 2.2 million residents, cloned as a template"
    )
    parser.add_argument("--samples", type=int, default=3_000)
    parser.add_argument("--fraction", type=float, default=1.0, help="of the report's mix (quick trial runs)")
    parser.add_argument("--people", type=int, default=PEOPLE, help="residents to generate (quick trial runs)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    url = args.database_url or os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = DEFAULT_URL
    problem = postgres_answers(url)
    if problem:
        print(f"PostgreSQL does not answer ({problem}): bench/card_lookup.py skipped")
        return

    var_dir = tempfile.mkdtemp(prefix="civicstack-bench-card-")
    atexit.register(shutil.rmtree, var_dir, True)
    people_seconds = None
    if args.people_from:
        clone_database(url, args.people_from)
        setup_django(var_dir, url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # the template may predate a migration
    else:
        recreate_postgres_database(url)
        setup_django(var_dir, url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        with open(os.devnull, "w") as quiet:
            call_command("load_city_profile", stdout=quiet)
        people_seconds = generate_residents(args.people)

    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from tqdm import tqdm

    from civicstack.card import demo, selectors
    from civicstack.card.models import Card
    from civicstack.core.models import Person

    if Card.objects.exists():
        sys.exit(f"{url} holds cards already: give --people-from a database with residents and no cards")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = demo.generate(
        scale="seed", seed=2019, fraction=args.fraction,
        progress_factory=lambda total: tqdm(total=total, unit=" cards", disable=args.no_progress, file=sys.stderr),
    )  # fmt: skip
    card_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('card_card')), version()")
        table_size, version = cursor.fetchone()
    active = dict(Card.objects.filter(state="active").values_list("kind").annotate(n=Count("id")))
    print(f"# PostgreSQL {version.split()[1]}, {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
          f"{Person.objects.count():,} residents"
          + (f" (generated in {people_seconds / 60:.1f} min)" if people_seconds else f" (from {args.people_from})"))  # fmt: skip
    print(f"# cards written: {result['cards']:,} ({sum(active.values()):,} active: "
          + ", ".join(f"{kind} {active.get(kind, 0):,}" for kind in demo.REPORT_MIX)
          + f"), {result['school_enrolments']:,} school enrolments, {result['enrolments']:,} function enrolments, "
          f"{result['events']} events; card table {table_size} with indexes")  # fmt: skip
    print(f"seed generation of the cards                 {card_seconds:7.1f} s  ({result['cards'] / card_seconds:,.0f} "
          f"cards/s)   target < 300 s: {'met' if card_seconds < 300 else 'MISSED'}")  # fmt: skip
    print(
        f"peak RSS of the process                      {peak_mb:7.0f} MB (before generating: {rss_before / 1024:.0f} MB)"
    )

    rng = random.Random(7)
    top = Card.objects.order_by("-id").values_list("id", flat=True).first()
    ids = sorted(rng.sample(range(1, top + 1), args.samples))
    rows = list(Card.objects.filter(id__in=ids).values_list("id", "number", "person_id"))
    rng.shuffle(rows)
    people = {p.pk: p for p in Person.objects.filter(pk__in={r[2] for r in rows})}
    holders = [(card_id, people[person_id]) for card_id, _number, person_id in rows]
    columns = ", ".join(f'"{f.column}"' for f in Card._meta.concrete_fields)

    def baseline(sample):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM card_card WHERE id = %s", [sample[0]])  # noqa: S608
            cursor.fetchone()

    def by_number(sample):
        assert selectors.card_by_number(sample[1]) is not None

    def my_cards(sample):
        cards = list(selectors.cards_of_person(sample[1]))
        assert cards

    with CaptureQueriesContext(connection) as queries:
        my_cards(holders[0])
    for _ in range(2):  # warm the caches the same way for all three
        timed(rows[:300], baseline)
        timed(rows[:300], by_number)
        timed(holders[:300], my_cards)
    base = percentiles(timed(rows, baseline))
    number = percentiles(timed(rows, by_number))
    mine = percentiles(timed(holders, my_cards))
    print(f"baseline: SELECT ... FROM card_card WHERE id = %s  p50 {base[0]:6.2f}  p95 {base[1]:6.2f}  "
          f"p99 {base[2]:6.2f} ms   ({len(rows):,} samples)")  # fmt: skip
    report("(a) card by number, selectors.card_by_number", number, base)
    report(f"(b) my cards, cards_of_person ({len(queries)} queries)", mine, base)


if __name__ == "__main__":
    main()
