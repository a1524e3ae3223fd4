import datetime

from django.core.management.base import BaseCommand, CommandError

from civicstack.eservices.services import applications_check_deadlines


class Command(BaseCommand):
    help = (
        "Online applications tools. `eservices deadlines`: remind the handling office of open cases due "
        "within two working days, and escalate cases past their deadline to the office's supervisors. "
        "Each case is reminded and escalated once, so it is safe to run as often as you like (e.g. daily)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["deadlines"])
        parser.add_argument("--today", help="run as of this date (YYYY-MM-DD), e.g. to catch up")

    def handle(self, *args, action: str, today: str | None = None, **options):
        try:
            day = datetime.date.fromisoformat(today) if today else None
        except ValueError as exc:
            raise CommandError("--today must be YYYY-MM-DD") from exc
        run = applications_check_deadlines(today=day)
        self.stdout.write(f"{run.reminded} case(s) reminded; {run.escalated} case(s) escalated")
