import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from civicstack.card import services
from civicstack.card.models import PointsSeal


class Command(BaseCommand):
    help = (
        "Citizen card tools.\n"
        "  sweep            expire cards past their date; cancel cards of holders who died or moved out\n"
        "  registry-sync    reload the card functions and partners from the shipped registry\n"
        "  welfare-month    lapse last month's unused welfare points and grant this month's (--month YYYY-MM)\n"
        "  points-earn      bonus points for a day's card uses (--day, default yesterday)\n"
        "  points-expire    expire bonus points past their validity\n"
        "  points-seal      seal every finished day of the bonus points log under its Merkle root\n"
        "  points-verify    check a receipt (--receipt FILE [--root HEX]), or recompute every seal\n"
        "All are safe to repeat."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["sweep", "registry-sync", "welfare-month", "points-earn",
                                               "points-expire", "points-seal", "points-verify"])  # fmt: skip
        parser.add_argument("--month", help="YYYY-MM (welfare-month; default this month)")
        parser.add_argument("--day", help="YYYY-MM-DD (points-earn; default yesterday)")
        parser.add_argument("--receipt", help="a receipt JSON file (points-verify)")
        parser.add_argument("--root", help="the published root to check the receipt against (points-verify)")

    def handle(self, *args, action: str, **options):
        today = timezone.localdate()
        if action == "sweep":
            counts = services.cards_sweep()
            self.stdout.write(
                f"{counts['expired']} card(s) expired; {counts['cancelled_death']} cancelled on death; "
                f"{counts['cancelled_moved_out']} cancelled on moving out"
            )
        elif action == "registry-sync":
            self.stdout.write(f"{services.registry_sync()} card functions in the registry")
        elif action == "welfare-month":
            month = (
                datetime.datetime.strptime(options["month"], "%Y-%m").date() if options["month"] else today
            )
            counts = services.welfare_points_month(month=month)
            self.stdout.write(f"{counts['granted']} grant(s), {counts['points_granted']:,} points; "
                              f"{counts['lapsed']} lapse(s), {counts['points_lapsed']:,} points")  # fmt: skip
        elif action == "points-earn":
            day = (
                datetime.date.fromisoformat(options["day"])
                if options["day"]
                else today - datetime.timedelta(days=1)
            )
            earned = services.points_earn_for_day(day=day)
            self.stdout.write(f"{earned['entries']} card(s) earned {earned['points']:,} points for {day}")
        elif action == "points-expire":
            done = services.points_expire(today=today)
            self.stdout.write(f"{done['points']:,} points expired on {done['cards']} card(s)")
        elif action == "points-seal":
            for seal in services.points_seal_days():
                self.stdout.write(f"{seal.day}  {seal.size:>7} entries  root {seal.root}")
        else:
            self._verify(options)

    def _verify(self, options) -> None:
        if options["receipt"]:
            try:
                with open(options["receipt"], encoding="utf-8") as handle:
                    receipt = json.load(handle)
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read the receipt: {exc}") from exc
            published = options["root"]
            if published is None:
                seal = (
                    PointsSeal.objects.filter(day=receipt.get("day")).first() if receipt.get("day") else None
                )
                published = seal.root if seal else None
            ok, message = services.points_verify_receipt(receipt, published_root=published)
            if not ok:
                self.stderr.write(f"FAILED: {message}")
                raise SystemExit(1)
            self.stdout.write(f"OK: {message}")
            return
        problems = services.points_verify_seals()
        if problems:
            for problem in problems:
                self.stderr.write(f"FAILED: {problem}")
            raise SystemExit(1)
        self.stdout.write(f"OK: {PointsSeal.objects.count()} sealed day(s) recomputed, all roots match")
