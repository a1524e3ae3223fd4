from django.core.management.base import BaseCommand

from civicstack.fines.services import cases_mark_overdue


class Command(BaseCommand):
    help = (
        "Fines tools. `fines remind`: cases whose notice went out and whose due date has passed become "
        "overdue and their payers get one reminder. Safe to run as often as you like (e.g. daily from cron)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["remind"])

    def handle(self, *args, action: str, **options):
        run = cases_mark_overdue()
        self.stdout.write(
            f"{run.marked_overdue} case(s) became overdue; {run.reminders_sent} reminder(s) sent in the app"
        )
