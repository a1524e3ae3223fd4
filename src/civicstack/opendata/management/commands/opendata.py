"""``civicstack opendata <verb>``: the open data module's scheduled and bulk jobs.

civicstack opendata refresh          reload every resource whose refresh is due (run it from cron)
civicstack opendata flush-usage      write the in-process usage counters now
civicstack opendata check-links      HEAD every linked resource; record broken links
civicstack opendata quality          print the per-agency share at 3 stars or more
civicstack opendata export FILE      the catalog as a national-portal CSV
civicstack opendata import FILE      create or update datasets from a national-portal CSV
"""

import urllib.error
import urllib.request

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from civicstack.core.errors import ServiceError

from ... import portal_csv, quality, services, usage
from ...models import Dataset, Resource


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument(
            "verb", choices=["refresh", "flush-usage", "check-links", "quality", "export", "import"]
        )
        parser.add_argument("file", nargs="?")
        parser.add_argument("--base-url", default="http://localhost:8000")

    def handle(self, *args, verb, file=None, base_url="", **options):
        if verb == "refresh":
            updates = services.resources_refresh_due()
            failed = sum(1 for u in updates if not u.succeeded)
            self.stdout.write(f"refreshed {len(updates) - failed}, failed {failed}")
        elif verb == "flush-usage":
            self.stdout.write(f"usage rows written: {usage.usage_flush()}")
        elif verb == "check-links":
            self._check_links()
        elif verb == "quality":
            for row in quality.agency_quality_report():
                self.stdout.write(
                    f"{row.agency_name}\t{row.datasets}\t{row.three_stars_or_more}\t{row.share_three_stars:.1%}\t"
                    f"stale {row.stale}"
                )
        elif verb == "export":
            if not file:
                raise CommandError("give the CSV file to write")
            with open(file, "w", encoding="utf-8", newline="") as out:
                out.write(portal_csv.export_catalog(Dataset.objects.all(), base_url.rstrip("/")))
        elif verb == "import":
            if not file:
                raise CommandError("give the CSV file to read")
            with open(file, "rb") as source:
                try:
                    outcome = portal_csv.import_catalog(actor=None, content=source.read())
                except ServiceError as exc:
                    raise CommandError(exc.message) from exc
            self.stdout.write(f"created {outcome['created']}, updated {outcome['updated']}")

    def _check_links(self) -> None:
        broken = 0
        for resource in Resource.objects.exclude(url="").filter(file=""):
            request = urllib.request.Request(  # noqa: S310 - links are http(s) URLField values
                resource.url, method="HEAD", headers={"User-Agent": "civicstack-opendata/1"}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http(s) links only
                    ok = response.status < 400
            except (urllib.error.URLError, TimeoutError, ValueError):
                ok = False
            broken += not ok
            Resource.objects.filter(pk=resource.pk).update(link_ok=ok, link_checked_at=timezone.now())
        self.stdout.write(f"broken links: {broken}")
