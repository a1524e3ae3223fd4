from django.core.management.base import BaseCommand
from tqdm import tqdm

from civicstack.core.demo import DEMO_LOGINS, SCALES, load_demo_data


class Command(BaseCommand):
    help = "Generate demo data: the city profile, residents in households, and the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), default="small")
        parser.add_argument("--seed", type=int, default=2019, help="random seed (same seed, same city)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when residents already exist")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, scale: str, seed: int, if_empty: bool, no_progress: bool, **options):
        from civicstack.core.models import Person

        if if_empty and Person.objects.exists():
            self.stdout.write("demo data already present; nothing to do")
        else:

            def progress(total):
                return tqdm(total=total, unit=" people", disable=no_progress, file=self.stderr)

            result = load_demo_data(scale=scale, seed=seed, progress_factory=progress)
            self.stdout.write(f"demo data ({scale}): {result['people_created']:,} residents created, "
                              f"{result['people_total']:,} in all")  # fmt: skip
            for name, summary in result["modules"].items():
                self.stdout.write(f"  {name}: {summary}")
        self.stdout.write("\nDemo logins:")
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.username:<11} password: {login.password:<22} {login.description}")
