"""``civicstack analytics install|load [--source CODE] [--due]|sources``: the loader process.

Run ``civicstack analytics load --due`` from cron (or a systemd timer) every few minutes: it is
the warehouse's only writer, and each due source's cursor and drop folder make it incremental."""

from django.core.management.base import BaseCommand, CommandError

from civicstack.analytics import selectors, services
from civicstack.core.errors import ServiceError


class Command(BaseCommand):
    help = "Install the analytics definitions, or load sources into the warehouse."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["install", "load", "sources"])
        parser.add_argument("--source", help="only this source code")
        parser.add_argument("--due", action="store_true", help="only sources whose schedule is due")

    def handle(self, *args, action, source=None, due=False, **options):
        if action == "install":
            self.stdout.write(str(services.definitions_install(actor=None)))
            return
        if action == "sources":
            for item in selectors.sources():
                self.stdout.write(
                    f"{item.code:18} {item.kind:10} {item.table:20} every {item.every_minutes} min"
                )
            return
        try:
            if source:
                loads = services.source_load(actor=None, source=selectors.access_source_by_code(source))
            elif due:
                loads = services.sources_load_due(actor=None)
            else:
                loads = [
                    load
                    for item in selectors.sources()
                    for load in services.source_load(actor=None, source=item)
                ]
        except ServiceError as error:
            raise CommandError(error.message) from error
        for load in loads:
            self.stdout.write(
                f"{load.source.code:18} {load.status:8} in={load.rows_in} loaded={load.rows_loaded} "
                f"rejected={load.rows_rejected} {load.origin} {load.error}"
            )
