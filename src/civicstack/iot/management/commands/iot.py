import signal

from django.core.management.base import BaseCommand

from civicstack.iot import mqtt, services


class Command(BaseCommand):
    help = (
        "City sensors. `iot listen`: subscribe to the MQTT broker (settings.MQTT_URL) and ingest readings "
        "in batches until stopped with Ctrl-C or SIGTERM. `iot rollup`: compute hourly and daily aggregates "
        "and delete raw readings past their retention; idempotent, run it hourly."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["listen", "rollup"])
        parser.add_argument("--prefix", help=f"topic prefix (default {mqtt.DEFAULT_PREFIX})")
        parser.add_argument(
            "--url", help="broker URL, e.g. mqtt://127.0.0.1:1883 (default settings.MQTT_URL)"
        )
        parser.add_argument("--client-id", default="civicstack-iot-listener")
        parser.add_argument("--clean-session", action="store_true",
                            help="do not ask the broker to keep readings while the listener is down")  # fmt: skip
        parser.add_argument("--max-batch", type=int, default=2000, help="readings per database write")
        parser.add_argument("--flush-ms", type=int, default=200, help="longest wait before a write")
        parser.add_argument("--qos", type=int, choices=[0, 1], default=1)
        parser.add_argument("--receivers", type=int, default=2,
                            help="receiving processes sharing the subscription (each has its own in-flight window)")  # fmt: skip
        parser.add_argument(
            "--full", action="store_true", help="rollup: recompute every period, not the last days"
        )

    def handle(self, *args, action: str, **options):
        if action == "rollup":
            run = services.rollup_run(full=options["full"])
            self.stdout.write(f"{run.hourly} hourly and {run.daily} daily aggregates written; "
                              f"{run.deleted} raw readings past retention deleted")  # fmt: skip
            return
        listener = mqtt.Listener(
            prefix=options["prefix"], url=options["url"], client_id=options["client_id"],
            clean_session=options["clean_session"], max_batch=options["max_batch"], flush_ms=options["flush_ms"],
            qos=options["qos"], receivers=max(1, options["receivers"]),
        )  # fmt: skip
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: listener.stop())
        self.stdout.write(
            f"listening on {listener.host}:{listener.port} topic {listener.prefix}/#", ending="\n"
        )
        self.stdout.flush()
        stats = listener.run()
        self.stdout.write(f"{stats.messages} messages, {stats.accepted} readings stored, {stats.quarantined} "
                          f"quarantined, {stats.duplicates} duplicates, {stats.alerts_opened} alerts opened")  # fmt: skip
