"""The MQTT side of ingestion: the topic and payload scheme, and the listener behind
``civicstack iot listen``.

Topics (``<prefix>`` defaults to ``city/taoyuan/sensors``):

- ``<prefix>/<station>/<quantity>``, payload one reading or a JSON list of them:
  ``{"value": 2.31, "unit": "m", "measured_at": "2026-11-27T21:00:00+08:00"}``
- ``<prefix>/<station>``, payload several quantities measured together:
  ``{"measured_at": "...", "readings": [{"quantity": "pm25", "value": 12, "unit": "µg/m³"}, ...]}``
  (an item may carry its own ``measured_at``).

``measured_at`` is ISO 8601 with a UTC offset, or Unix seconds. A payload that is not JSON or
not of these shapes is quarantined as malformed, with the topic and the first 400 characters.

The listener is two processes. A receiver process does nothing but read from the broker and
hand the raw messages over in chunks; the main process parses them and writes one
``readings_ingest`` batch at a time (``max_batch`` readings or ``flush_ms`` milliseconds,
whichever comes first): one transaction and a handful of statements per batch is what makes
thousands of readings a second possible. The split matters: with QoS 1 the broker keeps only
``max_inflight_messages`` (Mosquitto: 20) unacknowledged messages per client and queues
``max_queued_messages`` (1000) more, then drops; a receiver sharing the interpreter lock with
the database writer acknowledges too slowly under load and the broker starts dropping.

It subscribes with QoS 1 in a persistent session, so the broker keeps readings published while
the listener is down; readings received but not yet written when the process is killed (at
most one flush interval) are lost, a stop with SIGINT/SIGTERM writes them first.
"""

import json
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import OperationalError, connection

from . import services

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "city/taoyuan/sensors"


def topic_prefix() -> str:
    return getattr(settings, "IOT_MQTT_TOPIC_PREFIX", DEFAULT_PREFIX)


def broker_address(url: str | None = None) -> tuple[str, int]:
    parsed = urllib.parse.urlparse(url or settings.MQTT_URL)
    return parsed.hostname or "127.0.0.1", parsed.port or 1883


def readings_of_message(topic: str, payload: bytes, prefix: str) -> list:
    """The readings a message carries, in the shape ``readings_ingest`` takes. A message that
    cannot be read becomes one string item, which ingestion quarantines as malformed."""
    rest = topic[len(prefix) + 1 :].split("/") if topic.startswith(prefix + "/") else []
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        body = None
    if len(rest) == 2 and all(rest):
        station, quantity = rest
        items = body if isinstance(body, list) else [body]
        if all(isinstance(item, dict) for item in items):
            return [{**item, "station": station, "quantity": quantity} for item in items]
    elif len(rest) == 1 and rest[0] and isinstance(body, dict) and isinstance(body.get("readings"), list):
        station, when = rest[0], body.get("measured_at")
        if all(isinstance(item, dict) for item in body["readings"]):
            return [{"measured_at": when, **item, "station": station} for item in body["readings"]]
    return [f"topic {topic}: {payload[:400].decode('utf-8', 'replace')}"]


@dataclass
class ListenerStats:
    messages: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    alerts_opened: int = 0
    batches: int = 0
    reasons: dict = field(default_factory=dict)


HANDOVER_SECONDS = 0.02  # the receiver passes what it has every 20 ms


def _receive(host, port, client_id, clean_session, subscription, qos, chunks, ready, stop) -> None:
    """The receiver process: subscribe, collect (topic, payload) pairs, pass them on in chunks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    collected: list = []
    lock = threading.Lock()

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            logger.error("MQTT connection refused: %s", reason_code)
            return
        client.subscribe(subscription, qos=qos)  # again after every reconnect

    def on_message(client, userdata, message):
        with lock:
            collected.append((message.topic, message.payload))

    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
    )
    client.on_connect = on_connect
    client.on_subscribe = lambda *args: ready.set()
    client.on_message = on_message
    client.connect(host, port, keepalive=30)
    client.loop_start()
    parent = os.getppid()
    try:
        # a receiver whose writer died (killed outright) must not go on acknowledging readings
        while not stop.wait(HANDOVER_SECONDS) and os.getppid() == parent:
            with lock:
                chunk, collected[:] = list(collected), []
            if chunk:
                chunks.put(chunk)
    finally:
        client.disconnect()
        client.loop_stop()
        with lock:
            chunk = list(collected)
        chunks.put(chunk)
        chunks.put(None)  # end of stream


class Listener:
    """Subscribe to ``<prefix>/#`` (in a receiver process) and ingest in batches until ``stop()``."""

    def __init__(
        self, *, prefix: str | None = None, url: str | None = None, client_id: str = "civicstack-iot-listener",
        clean_session: bool = False, max_batch: int = 2000, flush_ms: int = 200, qos: int = 1,
        source: str = "mqtt", receivers: int = 1,
    ):  # fmt: skip
        self.prefix = (prefix or topic_prefix()).rstrip("/")
        self.host, self.port = broker_address(url)
        self.client_id, self.clean_session = client_id, clean_session
        self.max_batch, self.flush_seconds, self.qos, self.source = max_batch, flush_ms / 1000, qos, source
        self.stats = ListenerStats()
        context = multiprocessing.get_context("fork")  # the receivers need no Django, only paho
        # Several receivers share one subscription ($share: the broker deals each message to one of
        # them), each with its own in-flight window; one receiver is a plain subscription.
        subscription = f"{self.prefix}/#" if receivers == 1 else f"$share/{client_id}/{self.prefix}/#"
        self._ready_events = [context.Event() for _ in range(receivers)]
        self._receiver_stop = context.Event()
        self._chunks = context.Queue()
        self._receivers = [
            context.Process(
                target=_receive, daemon=True, name=f"iot-mqtt-receiver-{n}",
                args=(self.host, self.port, client_id if receivers == 1 else f"{client_id}-{n}", clean_session,
                      subscription, qos, self._chunks, ready, self._receiver_stop),
            )
            for n, ready in enumerate(self._ready_events)
        ]  # fmt: skip
        self._open_streams = receivers
        self._stopping = threading.Event()
        self._buffer: list = []

    def start(self) -> None:
        """Start the receivers; readings wait until ``flush()`` (or ``run()``) writes them."""
        for receiver in self._receivers:
            receiver.start()

    def wait_ready(self, timeout: float) -> bool:
        """True once every receiver's subscription is acknowledged by the broker."""
        deadline = time.monotonic() + timeout
        return all(ready.wait(max(0.0, deadline - time.monotonic())) for ready in self._ready_events)

    def _drain(self, timeout: float) -> None:
        """Move what the receiver handed over into the buffer, waiting up to ``timeout`` for the first chunk."""
        try:
            chunk = self._chunks.get(timeout=timeout) if timeout > 0 else self._chunks.get_nowait()
            while True:
                if chunk is None:
                    self._open_streams -= 1
                    if not self._open_streams:
                        return
                    chunk = self._chunks.get_nowait()
                    continue
                self.stats.messages += len(chunk)
                for topic, payload in chunk:
                    self._buffer.extend(readings_of_message(topic, payload, self.prefix))
                chunk = self._chunks.get_nowait()
        except queue.Empty:
            return

    def pending(self) -> int:
        self._drain(0)
        return len(self._buffer)

    def run(self) -> ListenerStats:
        self.start()
        try:
            deadline = time.monotonic() + self.flush_seconds
            while not self._stopping.is_set():
                self._drain(max(0.0, min(deadline - time.monotonic(), 0.05)))
                if len(self._buffer) >= self.max_batch or time.monotonic() >= deadline:
                    self.flush()
                    deadline = time.monotonic() + self.flush_seconds
        finally:
            self.close()
            while self._buffer:
                self.flush()
            connection.close()
        return self.stats

    def close(self) -> None:
        """Stop the receivers and take over everything they received."""
        self._receiver_stop.set()
        deadline = time.monotonic() + 10
        while self._open_streams and time.monotonic() < deadline and any(r.pid for r in self._receivers):
            self._drain(0.1)
        for receiver in self._receivers:
            if receiver.pid:
                receiver.join(5)

    def flush(self) -> None:
        batch, self._buffer = self._buffer[: self.max_batch], self._buffer[self.max_batch :]
        if not batch:
            return
        for attempt in range(3):
            try:
                result = services.readings_ingest(readings=batch, source=self.source)
                break
            except OperationalError:
                # database restarted or unreachable: reconnect and retry, keep the batch meanwhile
                logger.exception("writing %s readings failed (attempt %s)", len(batch), attempt + 1)
                connection.close()
                time.sleep(1 + attempt)
        else:
            self._buffer[:0] = batch
            return
        stats = self.stats
        stats.batches += 1
        stats.accepted += result.accepted
        stats.quarantined += result.quarantined
        stats.duplicates += result.duplicates
        stats.alerts_opened += result.alerts_opened
        for reason, count in result.reasons.items():
            stats.reasons[reason] = stats.reasons.get(reason, 0) + count

    def stop(self) -> None:
        self._stopping.set()
