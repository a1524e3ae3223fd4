import datetime

from django.core.management.base import BaseCommand, CommandError

from civicstack.welfare.services import catalog_load_shipped, proactive_match


class Command(BaseCommand):
    help = (
        "Welfare tools. `welfare match`: evaluate every resident who consented to proactive matching "
        "against the catalog and notify them, once per benefit, of benefits they are now eligible for "
        "(run daily: a birth or a 65th birthday makes new matches). `welfare load-catalog`: add the "
        "shipped catalog's missing benefits."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["match", "load-catalog"])
        parser.add_argument("--today", help="match as of this date (YYYY-MM-DD)")

    def handle(self, *args, action: str, today: str | None = None, **options):
        if action == "load-catalog":
            self.stdout.write(f"{catalog_load_shipped()} benefit(s) added")
            return
        try:
            day = datetime.date.fromisoformat(today) if today else None
        except ValueError as exc:
            raise CommandError("--today must be YYYY-MM-DD") from exc
        report = proactive_match(on=day)
        self.stdout.write(
            f"{report.people} consenting resident(s) evaluated; {report.notices} notice(s) sent "
            f"to {report.notified_people} resident(s)"
        )
