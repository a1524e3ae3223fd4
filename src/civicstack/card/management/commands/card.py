from django.core.management.base import BaseCommand

from civicstack.card import services


class Command(BaseCommand):
    help = (
        "Citizen card tools. `card sweep`: expire cards past their date and cancel the cards of holders the "
        "registry shows as deceased or moved out (run daily; safe to repeat). `card registry-sync`: reload the "
        "card functions and partners from the shipped registry (also runs after every migrate)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["sweep", "registry-sync"])

    def handle(self, *args, action: str, **options):
        if action == "sweep":
            counts = services.cards_sweep()
            self.stdout.write(
                f"{counts['expired']} card(s) expired; {counts['cancelled_death']} cancelled on death; "
                f"{counts['cancelled_moved_out']} cancelled on moving out"
            )
        else:
            self.stdout.write(f"{services.registry_sync()} card functions in the registry")
