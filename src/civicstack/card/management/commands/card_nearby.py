import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from civicstack.card import nearby
from civicstack.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Open datasets for the citizen app's map.\n"
        "  load parking [FILE]    public parking lots and their free spaces (JSON or CSV)\n"
        "  load charging [FILE]   EV-scooter charging stations (JSON or CSV; UTF-8 or Big5)\n"
        "Without FILE the shipped sample is loaded (source 'demo'). Rows are upserted by (source, id);\n"
        "refused rows are listed with their line numbers and the rest is loaded. Safe to repeat."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["load"])
        parser.add_argument("kind", choices=sorted(nearby.MODELS))
        parser.add_argument("file", nargs="?", help="the dataset file (default: the shipped sample)")
        parser.add_argument(
            "--source", default="", help="the source name (default: the field map's, or 'demo')"
        )
        parser.add_argument(
            "--field-map", default="",
            help=f"a built-in field map ({', '.join(sorted(nearby.FIELD_MAPS))}) or a JSON file of one",
        )  # fmt: skip
        parser.add_argument("--format", choices=["json", "csv"], default="", help="default: from the file")
        parser.add_argument("--json", action="store_true", help="print the load report as JSON")

    def handle(self, *args, action: str, kind: str, file: str | None, **options):
        field_map = options["field_map"] or None
        if field_map and field_map not in nearby.FIELD_MAPS:
            field_map = nearby.field_map_load(field_map)
        source = options["source"] or ("" if file else nearby.DEMO_SOURCE)
        try:
            load = nearby.nearby_load(kind=kind, path=file, field_map=field_map, source=source,
                                      file_format=options["format"])  # fmt: skip
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            report = {key: getattr(load, key) for key in (
                "kind", "source", "file_name", "file_format", "encoding", "field_map", "rows", "created", "updated",
                "unchanged", "rejected", "absent", "problems", "warnings")}  # fmt: skip
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
            return
        self.stdout.write(nearby.load_summary(load))
        for row in load.problems:
            self.stderr.write(_("line %(line)s: refused: %(problems)s")
                              % {"line": row["line"], "problems": "; ".join(row["problems"])})  # fmt: skip
        for row in load.warnings:
            self.stdout.write(_("line %(line)s: %(warnings)s")
                              % {"line": row["line"], "warnings": "; ".join(row["warnings"])})  # fmt: skip
