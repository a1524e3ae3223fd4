"""Card taps settled through the batch path on PostgreSQL: taps per second, against the rate of
bare inserts of the same tap rows (the floor cost of storing them) in the same run, and peak RSS.

    python bench/card_taps.py [--cards 50000] [--taps 200000] [--batch 5000] [--workers 2]

Each worker uploads batches of 5,000 taps (a day of one depot's validators) for cards drawn at
random from all cards, so concurrent batches contend for the same purses as they would live.
"""

import argparse
import datetime
import multiprocessing
import os
import random
import resource
import time
import zoneinfo

from support import fresh_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/civicstack_bench_taps"
TPE = zoneinfo.ZoneInfo("Asia/Taipei")
DAY = datetime.datetime(2026, 11, 2, 5, 0, tzinfo=TPE)
READERS = 400


def setup(cards: int) -> tuple[int, list[str]]:
    from django.utils import timezone

    from civicstack.card import card_number, services
    from civicstack.card.models import Card, CardFunction
    from civicstack.core import identity
    from civicstack.core.models import Agency, District, Person
    from civicstack.core.services import api_key_create, identifier_fields
    from civicstack.payments import services as payments
    from civicstack.payments.models import Account

    rng = random.Random(5)
    districts = list(District.objects.all())
    people = []
    for i in range(cards):
        body = f"Q{1 + i % 2}{i:07d}"
        number = body + identity.check_digit_for(body)
        people.append(Person(**identifier_fields(number, "national_id"), name=f"乘客{i}", sex="M",
                             birth_date=datetime.date(1950 if i % 5 == 0 else 1985, 1, 1),
                             district=districts[i % len(districts)]))  # fmt: skip
    Person.objects.bulk_create(people, batch_size=5000)
    people = list(Person.objects.order_by("id").values_list("id", "district_id"))
    serials = rng.sample(range(10**10), cards)
    rows = []
    for (person_id, district_id), serial in zip(people, serials, strict=True):
        kind = "senior" if len(rows) % 5 == 0 else "general"
        rows.append(Card(number=card_number.from_serial(kind, serial), kind=kind, person_id=person_id,
                         district_id=district_id, channel="counter", issued_at=DAY - datetime.timedelta(days=400),
                         expires_on=datetime.date(2030, 1, 1)))  # fmt: skip
    Card.objects.bulk_create(rows, batch_size=5000)
    numbers = [c.number for c in rows]
    source = payments.clearing_account("counter")
    # The purses in bulk (one get-or-create a card took minutes on a busy machine): stored value for
    # every card, welfare points for the senior cards.
    Account.objects.bulk_create(
        [Account(code=services.purse_code(c.number, unit), name=f"{c.number} {unit}", unit=unit,
                 person_id=c.person_id, debits_must_not_exceed_credits=True)
         for c in rows for unit in (("TWD", "WELFARE") if c.kind == "senior" else ("TWD",))],
        batch_size=5000,
    )  # fmt: skip
    for start in range(0, len(numbers), 8000):
        chunk = numbers[start : start + 8000]
        payments.transfers_create(requests=[
            payments.TransferRequest(idempotency_key=f"fund:{n}", debit_account=source.code,
                                     credit_account=services.purse_code(n, "TWD"), amount=rng.randint(40, 400))
            for n in chunk
        ])  # fmt: skip
    start_day = datetime.date(2015, 1, 1)
    f = {c.code: c for c in CardFunction.objects.all()}
    services.rule_save(actor=None, code="bus-bogo", name="買一送一", kind="nth_use_free", function=f["bus_bogo"],
                       params={"every": 2}, effective_from=start_day)  # fmt: skip
    services.rule_save(actor=None, code="metro-20", name="捷運八折", kind="percent_off",
                       function=f["metro_discount"], params={"percent": 20}, effective_from=start_day)  # fmt: skip
    services.rule_save(actor=None, code="welfare-bus", name="點數搭車", kind="pay_with_points", function=f["bus_bogo"],
                       card_kinds=["senior"], params={}, effective_from=start_day)  # fmt: skip
    services.rule_save(actor=None, code="welfare-month", name="每月點數", kind="monthly_points",
                       function=f["welfare_points"], card_kinds=["senior"], params={"points": 800},
                       effective_from=start_day)  # fmt: skip
    services.welfare_points_month(month=DAY.date())
    operator = services.partner_create(actor=None, code="bench-bus", name="壓測客運", kind="transit")
    _raw, key = api_key_create(actor=None, name="bench", partner=operator.name, agency=Agency.objects.first(),
                               scopes=["card.taps:upload"], expires_at=timezone.now() + datetime.timedelta(days=1))  # fmt: skip
    for r in range(READERS):
        services.reader_register(actor=None, code=f"r{r}", kind="bus" if r % 4 else "metro_gate", api_key=key,
                                 functions=["bus_bogo", "metro_discount"], operator_partner=operator)  # fmt: skip
    return key.pk, numbers


def make_taps(worker: int, count: int, numbers: list[str], prefix: str):
    from civicstack.card.settlement import TapIn

    rng = random.Random(worker)
    taps = []
    for i in range(count):
        reader = rng.randrange(READERS)
        metro = reader % 4 == 0
        taps.append(TapIn(reader=f"r{reader}", tap_id=f"{prefix}{worker}-{i}", card_number=rng.choice(numbers),
                          tapped_at=DAY + datetime.timedelta(seconds=rng.randrange(18 * 3600)),
                          fare=rng.choice([20, 25, 30, 35, 40]) if metro else rng.choice([18, 18, 18, 25, 36]),
                          function="metro_discount" if metro else "bus_bogo"))  # fmt: skip
    return taps


def backend_cpu() -> float | None:
    """CPU seconds this worker's PostgreSQL backend has used (None when the server is not local):
    with the worker's own CPU time, a cost that other work on the machine hardly changes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_used(cpu0: float, server0: float | None) -> tuple[float, float | None]:
    server = backend_cpu()
    return time.process_time() - cpu0, None if server0 is None or server is None else server - server0


def settle_worker(worker, count, batch, key_pk, numbers, start, queue) -> None:
    from django.db import connections

    from civicstack.card import services
    from civicstack.core.models import ApiKey

    key = ApiKey.objects.get(pk=key_pk)
    taps = make_taps(worker, count, numbers, "t")
    start.wait()
    server0, cpu0, t0 = backend_cpu(), time.process_time(), time.perf_counter()
    accepted = 0
    for offset in range(0, count, batch):
        results = services.taps_settle(api_key=key, taps=taps[offset : offset + batch])
        accepted += sum(r.status == "accepted" for r in results)
    elapsed = time.perf_counter() - t0
    queue.put(
        (
            count,
            accepted,
            elapsed,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            *cpu_used(cpu0, server0),
        )
    )
    connections.close_all()


def raw_worker(worker, count, batch, key_pk, numbers, start, queue) -> None:
    """The same tap rows, bulk-inserted with no pricing, locks, ledger or checks."""
    from django.db import connections
    from django.utils import timezone

    from civicstack.card.models import Card, Reader, Tap

    readers = {r.code: r.pk for r in Reader.objects.all()}
    cards = dict(Card.objects.values_list("number", "id"))
    taps = make_taps(worker, count, numbers, "raw")
    start.wait()
    server0, cpu0, t0 = backend_cpu(), time.process_time(), time.perf_counter()
    now = timezone.now()
    for offset in range(0, count, batch):
        Tap.objects.bulk_create(
            [Tap(reader_id=readers[t.reader], tap_id=t.tap_id, card_id=cards[t.card_number], card_number=t.card_number,
                 function=t.function, tapped_at=t.tapped_at, fare=t.fare, status="accepted", from_value=t.fare,
                 rules=[], batch="raw", received_at=now)
             for t in taps[offset : offset + batch]],
            batch_size=2000,
        )  # fmt: skip
    elapsed = time.perf_counter() - t0
    queue.put(
        (count, count, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, *cpu_used(cpu0, server0))
    )
    connections.close_all()


def run(target, workers: int, args_for):
    from django.db import connections

    context = multiprocessing.get_context("fork")
    start, queue = context.Event(), context.Queue()
    connections.close_all()
    processes = [context.Process(target=target, args=(*args_for(w), start, queue)) for w in range(workers)]
    for process in processes:
        process.start()
    time.sleep(1)  # let the workers build their taps before the clock starts
    t0 = time.perf_counter()
    start.set()
    results = [queue.get(timeout=3600) for _ in processes]
    elapsed = time.perf_counter() - t0
    for process in processes:
        process.join()
    servers = [r[5] for r in results]
    cpu = (sum(r[4] for r in results), None if None in servers else sum(servers))
    return sum(r[0] for r in results), sum(r[1] for r in results), elapsed, max(r[3] for r in results), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=50_000)
    parser.add_argument("--taps", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    fresh_database("/tmp/civicstack-bench-taps", args.database_url)
    t0 = time.perf_counter()
    key_pk, numbers = setup(args.cards)
    print(
        f"# setup: {args.cards:,} cards with funded purses and welfare points in {time.perf_counter() - t0:.0f} s"
    )
    per_worker = args.taps // args.workers

    count, accepted, elapsed, rss, cpu = run(settle_worker, args.workers,
                                        lambda w: (w, per_worker, args.batch, key_pk, numbers))  # fmt: skip
    from civicstack.payments.ledger import verify_ledger

    report = verify_ledger()
    raw_count, _, raw_elapsed, raw_rss, raw_cpu = run(raw_worker, args.workers,
                                             lambda w: (w, per_worker, args.batch, key_pk, numbers))  # fmt: skip
    from civicstack.card.models import Tap

    Tap.objects.filter(batch="raw").delete()
    rate, raw_rate = count / elapsed, raw_count / raw_elapsed
    print(f"# {args.workers} workers, {count:,} taps over {args.cards:,} cards in batches of {args.batch:,}")
    print(
        f"taps settled (priced, ledger, stored)     {rate:>10,.0f} /s  ({accepted:,} accepted, {elapsed:.1f} s)"
    )
    print(f"baseline: bare insert of the same rows    {raw_rate:>10,.0f} /s")
    print(f"ratio settled/bare                        {rate / raw_rate:>10.2f}")
    print(
        f"peak RSS of a settling worker             {rss / 1024:>10,.0f} MB  (bare-insert worker {raw_rss / 1024:,.0f} MB)"
    )
    for label, (client, server), taps in (("settled", cpu, count), ("bare insert", raw_cpu, raw_count)):
        server_text = "n/a (server not local)" if server is None else f"{server / taps * 1e6:,.0f} µs"
        print(
            f"CPU a tap, {label + ':':<12} worker {client / taps * 1e6:,.0f} µs, PostgreSQL backend {server_text}"
        )
    print(f"payments verify after the run: {'balanced' if report.ok else report.problems[:3]}")


if __name__ == "__main__":
    main()
