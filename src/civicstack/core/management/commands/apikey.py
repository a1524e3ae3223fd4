import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from civicstack.core import services
from civicstack.core.errors import ServiceError
from civicstack.core.models import Agency, ApiKey


class Command(BaseCommand):
    help = "Partner API keys: `apikey create NAME --partner P --agency CODE --scope S [--days N]`, `apikey revoke PREFIX`, `apikey list`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("name")
        create.add_argument("--partner", required=True)
        create.add_argument("--agency", required=True, help="sponsoring agency code")
        create.add_argument("--scope", action="append", required=True, dest="scopes")
        create.add_argument("--days", type=int, default=365)
        revoke = sub.add_parser("revoke")
        revoke.add_argument("prefix")
        sub.add_parser("list")

    def handle(self, *args, action: str, **options):
        try:
            if action == "create":
                agency = Agency.objects.filter(code=options["agency"]).first()
                if agency is None:
                    raise CommandError(f"no agency with code {options['agency']}")
                raw, key = services.api_key_create(
                    actor=None, name=options["name"], partner=options["partner"], agency=agency,
                    scopes=options["scopes"], expires_at=timezone.now() + datetime.timedelta(days=options["days"]),
                )  # fmt: skip
                self.stdout.write(f"key for {key.partner} (shown once, store it now):\n{raw}")
            elif action == "revoke":
                key = ApiKey.objects.filter(prefix=options["prefix"]).first()
                if key is None:
                    raise CommandError("no such key")
                services.api_key_revoke(actor=None, key=key)
                self.stdout.write(f"revoked {key.prefix}")
            else:
                for key in ApiKey.objects.select_related("agency").order_by("created_at"):
                    state = "revoked" if key.revoked_at else ("expired" if not key.is_usable() else "active")
                    self.stdout.write(
                        f"{key.prefix}  {state:8} {key.partner} · {key.name} · {','.join(key.scopes)}"
                    )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
