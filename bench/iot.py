"""City sensors: MQTT readings per second ingested end to end (publisher → Mosquitto →
``civicstack iot listen`` → PostgreSQL), against the naive listener in the same run.

    python bench/iot.py [--readings 100000] [--naive-readings 2000] [--stations 200] \
        [--database-url postgres://postgres@127.0.0.1:5432/civicstack_bench_iot]

One message per reading on ``<prefix>/<station>/<quantity>`` with QoS 1 (the most expensive
shape: a station that groups its quantities in one message costs less), from ``--publishers``
processes (one Python client tops out near 3,000 QoS 1 messages/s; a city's sensors are
thousands of clients). The listener is the
real CLI in its own process; it batches (``--max-batch`` readings or ``--flush-ms``, one
``readings_ingest`` transaction per batch). The baseline is the same listener with batches of
one reading: one transaction per reading, which is what a subscriber that writes each message
as it arrives does. Timed from the first publish until the last reading is in the table.
Target: 5,000 readings/s. Publisher, broker, listener and database share this machine's cores.
"""

import argparse
import datetime
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from support import fresh_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/civicstack_bench_iot"


def start_broker(var_dir: str) -> tuple[subprocess.Popen, int]:
    """A Mosquitto of our own on a free port with the module's recommended settings
    (src/civicstack/iot/data/mosquitto.conf): the system broker keeps Mosquitto's defaults."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = Path(var_dir) / "mosquitto.conf"
    recommended = (ROOT / "src/civicstack/iot/data/mosquitto.conf").read_text()
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{recommended}")
    broker = subprocess.Popen(
        ["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return broker, port
        time.sleep(0.05)
    raise SystemExit("mosquitto did not start")


def start_listener(
    prefix: str, database_url: str, var_dir: str, *, max_batch: int, flush_ms: int, qos: int, receivers: int,
    port: int, client_id: str | None = None,
):  # fmt: skip
    env = {**os.environ, "DATABASE_URL": database_url, "CIVICSTACK_VAR_DIR": var_dir}
    session = (
        ["--client-id", client_id]
        if client_id
        else ["--clean-session", "--client-id", f"bench-{uuid.uuid4().hex[:8]}"]
    )
    command = [str(ROOT / ".venv/bin/civicstack"), "iot", "listen", "--prefix", prefix, *session, "--max-batch", str(max_batch),
               "--flush-ms", str(flush_ms), "--qos", str(qos), "--receivers", str(receivers),
               "--url", f"mqtt://127.0.0.1:{port}"]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop_listener(process) -> str:
    process.terminate()
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output.strip().splitlines()[-1] if output.strip() else ""


def stored() -> int:
    from civicstack.iot.models import Reading

    return Reading.objects.count()


def wait_until(count: int, *, stall: float = 15) -> tuple[float, int, float]:
    """Poll until ``count`` readings are stored, or none arrived for ``stall`` seconds (readings the
    broker dropped never come). Returns the time the last reading was seen arriving, the count, and
    the time the first new one was seen."""
    last_count, last_change, first_change = stored(), time.perf_counter(), None
    while last_count < count and time.perf_counter() - last_change < stall:
        time.sleep(0.02)
        now_count = stored()
        if now_count != last_count:
            last_count, last_change = now_count, time.perf_counter()
            first_change = first_change or last_change
    return last_change, last_count, first_change or last_change


def publish_all(payloads: list[tuple[str, str]], qos: int, port: int) -> None:
    """One publisher process: connect, publish everything, wait for the broker's last ack."""
    import paho.mqtt.client as mqtt

    publisher = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}"
    )
    publisher.max_inflight_messages_set(1000)
    publisher.max_queued_messages_set(0)
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    last = None
    for topic, payload in payloads:
        last = publisher.publish(topic, payload, qos=qos)
    last.wait_for_publish(300)
    publisher.disconnect()
    publisher.loop_stop()


def run(label: str, args, prefix_base: str, sensors: list[tuple[str, str, str]], count: int, *, max_batch: int,
        flush_ms: int, start_at: datetime.datetime, backlog: bool = False) -> float:  # fmt: skip
    """Publish ``count`` readings while the listener runs; or with ``backlog``, while it is stopped
    (its persistent session makes the broker queue them) and time how fast it drains them."""
    import paho.mqtt.client as mqtt

    prefix = f"{prefix_base}/{label}"
    client_id = f"bench-backlog-{uuid.uuid4().hex[:8]}" if backlog else None
    listen = dict(max_batch=max_batch, flush_ms=flush_ms, qos=args.qos, receivers=args.receivers, port=args.port,
                  client_id=client_id)  # fmt: skip
    listener = start_listener(prefix, args.database_url, args.var_dir, **listen)
    publisher = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}"
    )
    publisher.max_inflight_messages_set(1000)
    publisher.max_queued_messages_set(0)
    publisher.connect("127.0.0.1", args.port)
    publisher.loop_start()
    try:
        # warm-up: one probe reading until it is stored proves the listener is subscribed
        before = stored()
        probe_at = start_at - datetime.timedelta(minutes=1)
        deadline = time.monotonic() + 60
        while stored() == before:
            if time.monotonic() > deadline:
                raise SystemExit("listener did not store the probe reading")
            code, quantity, unit = sensors[0]
            probe_at -= datetime.timedelta(seconds=1)
            publisher.publish(f"{prefix}/{code}/{quantity}", json.dumps(
                {"value": 1.0, "unit": unit, "measured_at": probe_at.isoformat()}), qos=args.qos)  # fmt: skip
            time.sleep(0.5)
        time.sleep(1)  # let probe retries land
        if backlog:
            stop_listener(listener)
        base = stored()
        payloads = []
        for i in range(count):
            code, quantity, unit = sensors[i % len(sensors)]
            at = start_at + datetime.timedelta(seconds=i // len(sensors))
            payloads.append((f"{prefix}/{code}/{quantity}",
                             json.dumps({"value": 1.0 + (i % 97) / 10, "unit": unit, "measured_at": at.isoformat()})))  # fmt: skip
        context = multiprocessing.get_context("fork")
        workers = [context.Process(target=publish_all, args=(payloads[k :: args.publishers], args.qos, args.port))
                   for k in range(args.publishers)]  # fmt: skip
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        published = time.perf_counter()
        if backlog:
            listener = start_listener(prefix, args.database_url, args.var_dir, **listen)
        finished, total, first = wait_until(base + count)
        if backlog:
            started = first  # from the first reading drained, so the process start is not counted
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        summary = stop_listener(listener)
    arrived = total - base
    rate = arrived / (finished - started)
    lost = f", {count - arrived:,} LOST (dropped by the broker)" if arrived < count else ""
    timing = "drained in" if backlog else f"published in {published - started:6.2f} s, stored in"
    print(f"  {label:<8} {count:>8,} readings: {timing} {finished - started:6.2f} s → {rate:8,.0f} readings/s{lost}"
          f"   [{summary}]")  # fmt: skip
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--naive-readings", type=int, default=2_000)
    parser.add_argument("--stations", type=int, default=200, help="each measures two quantities")
    parser.add_argument("--max-batch", type=int, default=2000)
    parser.add_argument("--flush-ms", type=int, default=200)
    parser.add_argument("--qos", type=int, choices=[0, 1], default=1)
    parser.add_argument("--receivers", type=int, default=2, help="the listener's receiving processes")
    parser.add_argument(
        "--publishers", type=int, default=2, help="publishing processes (sensors are many clients)"
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--system-broker", action="store_true",
                        help="use the broker at 127.0.0.1:1883 with its own settings instead of starting one")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        args.var_dir = var_dir
        fresh_database(var_dir, args.database_url)
        from django.db import connection
        from django.utils import timezone

        from civicstack.core.models import Agency, District
        from civicstack.iot import services

        districts = list(District.objects.all())
        agency = Agency.objects.filter(kind=Agency.Kind.CITY_GOVERNMENT).first()
        sensors = []
        for n in range(args.stations):
            code = f"B-{n:04d}"
            services.station_register(
                actor=None, code=code, name=f"bench {n}", kind="air_quality", district=districts[n % len(districts)],
                agency=agency, latitude=25.0, longitude=121.3,
                quantities=[{"quantity": "pm25", "unit": "µg/m³", "valid_min": 0, "valid_max": 500, "warning_level": 400},
                            {"quantity": "temperature", "unit": "°C", "valid_min": -20, "valid_max": 60}],
            )  # fmt: skip
            sensors += [(code, "pm25", "µg/m³"), (code, "temperature", "°C")]
        connection.close()  # the listener process opens its own
        print(f"{connection.vendor}: {args.stations} stations, {len(sensors)} sensors; one message per reading, "
              f"QoS {args.qos}; listener batches of up to {args.max_batch} readings or {args.flush_ms} ms")  # fmt: skip
        broker = None
        if args.system_broker:
            args.port = 1883
        else:
            broker, args.port = start_broker(var_dir)
        print(f"broker: {'system Mosquitto (its settings)' if broker is None else 'Mosquitto with iot/data/mosquitto.conf'}"
              f" on port {args.port}")  # fmt: skip
        prefix = f"bench/{uuid.uuid4().hex[:8]}"
        now = timezone.now().replace(microsecond=0)
        naive = run("naive", args, prefix, sensors, args.naive_readings, max_batch=1, flush_ms=1,
                    start_at=now - datetime.timedelta(hours=5))  # fmt: skip
        try:
            batched = run("batched", args, prefix, sensors, args.readings, max_batch=args.max_batch,
                          flush_ms=args.flush_ms, start_at=now - datetime.timedelta(hours=3))  # fmt: skip
            drained = None
            if broker is not None:  # the system broker's default queue (1000) would drop a backlog
                drained = run("backlog", args, prefix, sensors, args.readings, max_batch=args.max_batch,
                              flush_ms=args.flush_ms, start_at=now - datetime.timedelta(hours=1), backlog=True)  # fmt: skip
        finally:
            if broker is not None:
                broker.terminate()
                broker.wait(10)
        print(f"MQTT ingestion end to end: {batched:,.0f} readings/s (target 5,000); naive listener (one "
              f"transaction per reading) {naive:,.0f} readings/s; ratio {batched / naive:.1f}x")  # fmt: skip
        if drained:
            print(f"listener capacity (draining a queued backlog, publishers idle): {drained:,.0f} readings/s; "
                  f"ratio to the naive listener {drained / naive:.1f}x")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
