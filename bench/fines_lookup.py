"""Public fines lookup at the report's scale: p95 latency of the lookup by case number and by name
+ ID, at 200,000 cases, against the same case fetched by primary key (the baseline) in the same run.

    python bench/fines_lookup.py [--cases 200000] [--samples 2000] [--database-url postgres://...]

It builds a fresh database under /tmp (never your demo database): the city profile, a few thousand
residents, the seed catalog (52 agencies, 332 items) and the cases through the demo generator's
bulk path. Measured twice: the selector alone (ORM), and the whole HTTP request through Django's
test client (routing, throttle, JSON), each against the primary-key fetch. Target: p95 < 50 ms.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time

from support import fresh_database


def p95(durations: list[float]) -> float:
    return statistics.quantiles(durations, n=20)[-1] * 1000  # ms


def timed(samples, fn) -> list[float]:
    durations = []
    for sample in samples:
        started = time.perf_counter()
        fn(sample)
        durations.append(time.perf_counter() - started)
    return durations


def report(name: str, value: float, baseline: float) -> None:
    ratio = value / baseline if baseline else float("nan")
    print(
        f"{name:<52} p95 {value:8.2f} ms   baseline (by primary key) p95 {baseline:6.2f} ms   ratio {ratio:6.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--people", type=int, default=5_000)
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        fresh_database(var_dir, args.database_url)
        from django.db import connection
        from django.test import Client

        from civicstack.core import crypto
        from civicstack.core.demo import generate_people
        from civicstack.core.services import ID_ENCRYPTION_PURPOSE
        from civicstack.fines import demo, selectors
        from civicstack.fines.api import PublicCaseOut
        from civicstack.fines.models import FineCase

        generate_people(count=args.people, seed=1)
        items = demo.ensure_catalog(scale="seed")
        started = time.perf_counter()
        demo._generate_seed(count=args.cases, seed=1, items=items)
        load_seconds = time.perf_counter() - started
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(
            f"# {connection.vendor}: {FineCase.objects.count():,} cases in {len(items)} items of "
            f"{len({i.agency_id for i in items})} agencies, loaded in {load_seconds:.0f} s "
            f"({args.cases / load_seconds:,.0f} cases/s); {os.cpu_count()} cores, Python {sys.version.split()[0]}"
        )

        rng = random.Random(7)
        ids = rng.sample(list(FineCase.objects.values_list("id", flat=True)), min(args.samples, 30_000))
        rows = list(
            FineCase.objects.filter(id__in=ids).exclude(state="cancelled").select_related("payer_person")
        )
        rng.shuffle(rows)
        people = [c for c in rows if c.payer_kind == "person"]
        by_number = [(c.pk, c.number) for c in rows]
        by_payer = [(c.pk, c.payer_name, crypto.decrypt(c.payer_person.id_ciphertext, purpose=ID_ENCRYPTION_PURPOSE))
                    for c in people]  # fmt: skip

        def serialize(cases):
            return [PublicCaseOut.from_case(case).dict() for case in cases]

        def baseline(sample):
            serialize([FineCase.objects.select_related("agency", "item", "payment_order").get(pk=sample[0])])

        for _ in range(2):  # warm caches the same way for both
            timed(by_number[:200], baseline)
            timed(by_number[:200], lambda s: serialize([selectors.public_case_by_number(s[1])]))
        base = p95(timed(by_number, baseline))
        report("lookup by case number, selector", p95(timed(
            by_number, lambda s: serialize([selectors.public_case_by_number(s[1])]))), base)  # fmt: skip
        report("lookup by name + national ID, selector", p95(timed(
            by_payer, lambda s: serialize(selectors.public_cases_by_payer(s[1], s[2])))), base)  # fmt: skip

        client = Client()
        counter = iter(range(10**9))

        def address() -> str:  # one request per address, so the 30/min throttle never answers instead
            n = next(counter)
            return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"

        def http_number(sample):
            response = client.get("/api/v1/fines/lookup", {"case_number": sample[1]}, REMOTE_ADDR=address())
            assert response.status_code == 200, response.content

        def http_payer(sample):
            response = client.get("/api/v1/fines/lookup", {"name": sample[1], "identifier": sample[2]},
                                  REMOTE_ADDR=address())  # fmt: skip
            assert response.status_code == 200, response.content

        timed(by_number[:100], http_number)
        report("GET /api/v1/fines/lookup?case_number=, HTTP", p95(timed(by_number, http_number)), base)
        report("GET /api/v1/fines/lookup?name=&identifier=, HTTP", p95(timed(by_payer, http_payer)), base)


if __name__ == "__main__":
    main()
