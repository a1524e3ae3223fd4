import json
from pathlib import Path

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Write the API's OpenAPI document to a file (default: stdout)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?")

    def handle(self, *args, path=None, **options):
        from civicstack.api import api

        document = json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api/")))
        text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        if path:
            Path(path).write_text(text, encoding="utf-8")
            self.stdout.write(f"wrote {path}")
        else:
            self.stdout.write(text)
