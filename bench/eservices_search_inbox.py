"""Online applications at the report's scale (808 items of 47 agencies, 370,000 applications):
p95 latency of (1) the catalog search in Chinese and (2) the first page of a district office's staff
inbox, each against the same question answered naively in the same run.

    python bench/eservices_search_inbox.py [--applications 370000] [--samples 500] [--database-url postgres://...]

Baselines: the catalog search against a substring scan (``icontains`` on name, description and
category — what a search box without segmentation does); the inbox against loading every case and
filtering and sorting in Python. Each measured on the selector alone and through the HTTP API
(Django's test client: routing, auth, JSON). Targets: search p95 < 50 ms, inbox p95 < 100 ms.
"""

import argparse
import random
import statistics
import tempfile
import time

from support import fresh_database

QUERIES = ["戶籍謄本", "低收入戶", "育兒津貼", "道路挖掘", "身心障礙 補助", "場地借用", "路燈", "停車", "急難救助",
           "敬老", "兵役", "租屋補貼", "公園管理 申請", "資源回收", "建物使用 變更", "文化資產", "長照", "噪音"]  # fmt: skip


def p95(durations: list[float]) -> float:
    return statistics.quantiles(durations, n=20)[-1] * 1000


def timed(samples, fn) -> list[float]:
    durations = []
    for sample in samples:
        started = time.perf_counter()
        fn(sample)
        durations.append(time.perf_counter() - started)
    return durations


def report(name: str, value: float, baseline_name: str, baseline: float) -> None:
    print(
        f"{name:<40} p95 {value:8.2f} ms   {baseline_name} p95 {baseline:9.2f} ms   speed-up {baseline / value:7.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applications", type=int, default=370_000)
    parser.add_argument("--people", type=int, default=5_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--naive-samples", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        fresh_database(var_dir, args.database_url)
        from django.db import connection
        from django.test import Client

        from civicstack.core.demo import ensure_demo_logins, generate_people
        from civicstack.core.models import Agency, StaffRole, User
        from civicstack.core.services import staff_role_grant
        from civicstack.eservices import demo, selectors
        from civicstack.eservices.models import Application, ServiceItem

        started = time.perf_counter()
        generate_people(count=args.people, seed=2019)
        ensure_demo_logins()
        rng = random.Random(2019)
        demo.generate_small(rng)
        demo.generate_seed(rng, applications=args.applications)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(f"{connection.vendor}: {ServiceItem.objects.count()} items of "
              f"{ServiceItem.objects.values('agency').distinct().count()} agencies, "
              f"{Application.objects.count():,} applications (built in {time.perf_counter() - started:.0f} s)")  # fmt: skip

        rng = random.Random(7)
        queries = [rng.choice(QUERIES) for _ in range(args.samples)]
        selectors.catalog_search(query="暖身")  # build the in-process index once, as a server would
        search = p95(timed(queries, lambda q: selectors.catalog_search(query=q)))
        naive = p95(timed(queries, lambda q: selectors.catalog_search_naive(query=q)))
        report("catalog search (selector)", search, "substring scan", naive)
        client = Client()
        api = p95(timed(queries, lambda q: client.get("/api/v1/eservices/items", {"q": q})))
        report("catalog search (HTTP API)", api, "substring scan", naive)

        office = Agency.objects.filter(kind=Agency.Kind.DISTRICT_OFFICE).order_by("code").first()
        clerk = User.objects.create_user(username="bench-clerk")
        staff_role_grant(actor=None, user=clerk, agency=office, role=StaffRole.Role.CLERK)
        clerk = User.objects.get(pk=clerk.pk)
        filters = selectors.InboxFilter()
        visible = selectors.applications_visible_to_staff(clerk).count()

        def first_page(_):
            rows, count = selectors.inbox_page(clerk, filters, page=1, page_size=25)
            [selectors.sla(case) for case in rows]
            return count, rows

        inbox = p95(timed(range(args.samples), first_page))
        naive_inbox = p95(
            timed(range(args.naive_samples), lambda _: selectors.inbox_naive(clerk, filters)[:25])
        )

        def one_query(_):
            cases = selectors.inbox(clerk, filters)
            rows = list(cases[:25])
            [selectors.sla(case) for case in rows]
            return cases.count(), rows

        single = p95(timed(range(min(args.samples, 100)), one_query))
        print(f"inbox of {office.name_zh}: {visible:,} cases received or handled there")
        report("staff inbox first page (selector)", inbox, "load all + Python", naive_inbox)
        report("staff inbox first page (selector)", inbox, "one wide sorted query", single)
        staff_client = Client()
        staff_client.force_login(clerk, backend="django.contrib.auth.backends.ModelBackend")
        api_inbox = p95(
            timed(range(args.samples), lambda _: staff_client.get("/api/v1/eservices/staff/inbox"))
        )
        report("staff inbox first page (HTTP API)", api_inbox, "load all + Python", naive_inbox)


if __name__ == "__main__":
    main()
