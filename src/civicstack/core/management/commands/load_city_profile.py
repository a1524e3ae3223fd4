from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from civicstack.core.city_profile import city_profile_load, profile_path
from civicstack.core.errors import InvalidInput


class Command(BaseCommand):
    help = "Load (add and update) the districts, villages and agencies of a city profile JSON file."

    def add_arguments(self, parser):
        parser.add_argument("profile", nargs="?", help="profile name or path (default: CIVICSTACK_CITY)")

    def handle(self, *args, profile=None, **options):
        path = profile_path(profile) if profile else profile_path()
        try:
            summary = city_profile_load(path=Path(path))
        except InvalidInput as exc:
            details = "\n".join(f"  {d}" for d in exc.details or [])
            raise CommandError(f"{exc.message}\n{details}") from exc
        self.stdout.write(
            f"loaded {path.name}: {summary.districts} districts, {summary.villages} villages, "
            f"{summary.agencies} agencies, {summary.contacts} contacts"
        )
