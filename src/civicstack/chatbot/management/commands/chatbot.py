from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from civicstack.chatbot import selectors, services, transfer
from civicstack.chatbot.demo import HOTLINE
from civicstack.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Citizen Q&A tools. `chatbot import FILE [--base KEY]`: import a CSV or XLSX knowledge file (all rows or "
        "none; bad rows are listed with their line numbers). `chatbot export FILE [--base KEY]`: write the entries "
        "as CSV or XLSX (by the file's extension). `chatbot sync-catalog`: refresh the answers made from the "
        "online-application catalog. `chatbot venue-key VENUE [--days N]`: a robot/kiosk API key bound to a venue."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import", "export", "sync-catalog", "venue-key"])
        parser.add_argument("target", nargs="?", help="file (import, export) or venue code (venue-key)")
        parser.add_argument("--base", default=HOTLINE, help="knowledge base key (default: %(default)s)")
        parser.add_argument("--days", type=int, default=365)

    def handle(self, *args, action: str, target: str | None, base: str, days: int, **options):
        try:
            if action == "sync-catalog":
                result = services.catalog_sync()
                self.stdout.write(f"{result.created} answer(s) created, {result.updated} updated")
                return
            if not target:
                raise CommandError(f"{action} needs a file or venue")
            if action == "venue-key":
                raw, key = services.venue_api_key_create(actor=None, venue=selectors.venue_by_code(target),
                                                         name=f"robot {target}", days=days)  # fmt: skip
                self.stdout.write(f"{raw}\n(shown once; prefix {key.prefix}, scope {services.ASK_SCOPE})")
                return
            path = Path(target)
            if action == "export":
                rows = [
                    services.entry_row(e)
                    for e in selectors.entries(knowledge_base=base if base != "all" else "")
                ]
                path.write_bytes(
                    transfer.write_xlsx(rows) if path.suffix.lower() == ".xlsx" else transfer.write_csv(rows)
                )
                self.stdout.write(f"{len(rows)} entries written to {path}")
                return
            if not path.is_file():
                raise CommandError(f"no such file: {path}")
            rows = transfer.read_rows(path.read_bytes(), path.name)
            result = services.entries_import(
                actor=None, rows=rows, knowledge_base=selectors.knowledge_base_by_key(base)
            )
            self.stdout.write(f"{result.created} entries created, {result.updated} updated")
        except ServiceError as exc:
            if isinstance(exc.details, list):
                for problem in exc.details:
                    self.stderr.write(f"line {problem['line']}: {' '.join(problem['errors'])}")
            raise CommandError(exc.message) from exc
