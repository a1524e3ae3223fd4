from django.core.management.base import BaseCommand, CommandError

from civicstack.payments import ledger, services


class Command(BaseCommand):
    help = (
        "Ledger and order upkeep. `payments verify`: every account's totals equal the sum of its transfers "
        "(exit 1 otherwise). `payments expire`: release timed-out reservations and expire overdue orders."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "expire"])

    def handle(self, *args, action: str, **options):
        if action == "expire":
            released = ledger.expire_pending()
            expired = services.payment_orders_expire()
            self.stdout.write(f"released {released} pending transfers; expired {expired} payment orders")
            return
        report = ledger.verify_ledger()
        if report.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"ledger balanced: {report.accounts} accounts, {report.transfers} transfers"
                )
            )
            return
        for problem in report.problems:
            self.stderr.write(problem)
        raise CommandError(f"ledger NOT balanced: {len(report.problems)} problem(s)")
