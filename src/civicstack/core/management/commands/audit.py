from django.core.management.base import BaseCommand, CommandError

from civicstack.core.audit_chain import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools. `audit verify` checks the whole hash chain and exits 1 on any tampering."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, action: str, **options):
        report = verify_chain()
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} events verified"))
            return
        for problem in report.problems:
            self.stderr.write(problem)
        raise CommandError(
            f"audit chain BROKEN: {len(report.problems)} problem(s) in {report.checked} events"
        )
