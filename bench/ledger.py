"""Ledger throughput on PostgreSQL: transfers per second posted through the service layer by
16 concurrent worker processes contending for 100 hot accounts, against PostgreSQL's raw rate
for the same rows inserted by the same workers with no checks, locks or balance updates.

    python bench/ledger.py [--workers 16] [--accounts 100] [--transfers 100000] [--batch 200]
"""

import argparse
import multiprocessing
import os
import random
import time

from support import fresh_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/civicstack_bench_ledger"


def service_worker(worker: int, count: int, accounts: int, batch: int, start, queue) -> None:
    from django.db import connections

    from civicstack.payments import services
    from civicstack.payments.ledger import TransferRequest

    rng = random.Random(worker)
    start.wait()
    created = failed = 0
    t0 = time.perf_counter()
    for offset in range(0, count, batch):
        requests = []
        for i in range(offset, min(offset + batch, count)):
            a, b = rng.sample(range(accounts), 2)
            requests.append(TransferRequest(f"s{worker}-{i}", debit_account=f"hot-{a}", credit_account=f"hot-{b}",
                                            amount=rng.randint(1, 500)))  # fmt: skip
        for result in services.transfers_create(requests=requests):
            created += result.status == "created"
            failed += result.status == "failed"
    queue.put((created, failed, time.perf_counter() - t0))
    connections.close_all()


def raw_worker(worker: int, count: int, accounts: int, batch: int, ids: list[int], start, queue) -> None:
    from django.db import connection, connections

    rng = random.Random(worker)
    start.wait()
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for offset in range(0, count, batch):
            rows = []
            for i in range(offset, min(offset + batch, count)):
                a, b = rng.sample(ids, 2)
                rows.append((f"r{worker}-{i}", "posted", a, b, rng.randint(1, 500)))
            cursor.executemany(
                "INSERT INTO payments_transfer (idempotency_key, kind, debit_account_id, credit_account_id, amount,"
                " state, linked_group, reference, memo, created_at) VALUES (%s, %s, %s, %s, %s, '', '', '', '', now())",
                rows,
            )
    queue.put((count, 0, time.perf_counter() - t0))
    connections.close_all()


def run(target, workers: int, args_for) -> tuple[int, int, float]:
    from django.db import connections

    context = multiprocessing.get_context("fork")
    start, queue = context.Event(), context.Queue()
    connections.close_all()
    processes = [context.Process(target=target, args=(*args_for(w), start, queue)) for w in range(workers)]
    for process in processes:
        process.start()
    t0 = time.perf_counter()
    start.set()
    results = [queue.get(timeout=1800) for _ in processes]
    elapsed = time.perf_counter() - t0
    for process in processes:
        process.join()
    return sum(r[0] for r in results), sum(r[1] for r in results), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--transfers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    fresh_database("/tmp/civicstack-bench-ledger", args.database_url, city_profile=False)

    from civicstack.payments import ledger, services
    from civicstack.payments.models import Account

    for i in range(args.accounts):
        services.account_get_or_create(code=f"hot-{i}", name=f"hot account {i}")
    ids = list(Account.objects.filter(code__startswith="hot-").values_list("id", flat=True))
    per_worker = args.transfers // args.workers

    created, failed, elapsed = run(
        service_worker, args.workers, lambda w: (w, per_worker, args.accounts, args.batch)
    )
    service_rate = created / elapsed
    report = ledger.verify_ledger()  # before the raw rows, which update no balances by design
    raw_count, _, raw_elapsed = run(
        raw_worker, args.workers, lambda w: (w, per_worker, args.accounts, args.batch, ids)
    )
    raw_rate = raw_count / raw_elapsed
    from civicstack.payments.models import Transfer

    Transfer.objects.filter(idempotency_key__startswith="r").delete()
    print(f"# {os.cpu_count()} cores, {args.workers} workers, {args.accounts} hot accounts, "
          f"{per_worker * args.workers:,} transfers in batches of {args.batch}")  # fmt: skip
    print(
        f"transfers posted through the service layer  {service_rate:>10,.0f} /s  ({created:,} created, {failed} failed)"
    )
    print(f"baseline: raw INSERT of the same rows       {raw_rate:>10,.0f} /s")
    print(f"ratio service/raw                           {service_rate / raw_rate:>10.2f}")
    print(f"payments verify after the run: {'balanced' if report.ok else report.problems[:3]}")


if __name__ == "__main__":
    main()
