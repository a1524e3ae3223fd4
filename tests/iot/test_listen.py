"""The listener's own loop, not only its parts: ``Listener.run()`` (what ``civicstack iot listen``
runs) against the real Mosquitto, writing through its own database connections and committing,
then stopped the way the command's signal handler stops it. And the command itself, as a process
stopped with SIGTERM, where the test database is one another process can open (PostgreSQL).

Transactional: the listener writes from another thread or process, so the rows must commit.
Every wait has a deadline, and the listener is stopped in ``finally`` so a failure cannot hang."""

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from django.db import connection

from civicstack.core.models import Notification
from civicstack.iot.models import AlertEpisode, QuarantinedReading, Reading
from civicstack.iot.mqtt import Listener, broker_address

from .conftest import minutes_ago

CIVICSTACK = str(Path(sys.executable).with_name("civicstack"))
SERIES = [
    4.2,
    5.3,
    5.8,
    6.4,
    5.9,
    6.1,
]  # one crossing of the 5.0 m warning level, then more readings above it


@pytest.fixture
def publish():
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}"
    )
    client.connect(*broker_address())
    client.loop_start()

    def send(topic: str, payload) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        assert client.publish(topic, body, qos=1).wait_for_publish(5) is not False

    yield send
    client.disconnect()
    client.loop_stop()


def publish_episode(publish, prefix: str) -> None:
    start = minutes_ago(30)
    for i, value in enumerate(SERIES):
        at = (start + datetime.timedelta(minutes=i)).isoformat()
        publish(f"{prefix}/WL-NK-01/water_level", {"value": value, "unit": "m", "measured_at": at})
    publish(f"{prefix}/WL-NK-01/water_level", b"{not json")


def wait_until(condition, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def assert_episode_stored_and_alerted_once(staff) -> None:
    stored = sorted(
        Reading.objects.filter(sensor__station__code="WL-NK-01").values_list("measured_at", "value")
    )
    assert [value for _at, value in stored] == SERIES
    episode = AlertEpisode.objects.get()
    assert (episode.opened_value, episode.peak_value, episode.is_open) == (5.3, 6.4, True)
    assert Notification.objects.filter(recipient=staff["clerk_a"]).count() == 1
    assert QuarantinedReading.objects.filter(reason="malformed").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("city_profile_restored_after_flush")
class TestListenLoop:
    def test_the_running_loop_stores_readings_alerts_once_and_stops_cleanly(self, gauge, staff, publish):
        prefix = f"test/{uuid.uuid4().hex[:12]}/sensors"
        listener = Listener(prefix=prefix, client_id=f"test-{uuid.uuid4().hex[:8]}", clean_session=True,
                            receivers=2, flush_ms=100)  # fmt: skip
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.update(stats=listener.run()), daemon=True)
        thread.start()
        try:
            assert listener.wait_ready(10), "no SUBACK from Mosquitto"
            publish_episode(publish, prefix)
            # written by the loop's own flushes (every 100 ms), not by the test
            assert wait_until(lambda: listener.stats.accepted + listener.stats.quarantined == len(SERIES) + 1)
            assert listener.stats.batches >= 1
        finally:
            listener.stop()  # what SIGINT/SIGTERM do in `civicstack iot listen`
            thread.join(20)
        assert not thread.is_alive(), "the listener did not stop"
        assert not any(receiver.is_alive() for receiver in listener._receivers)
        stats = outcome["stats"]
        assert (stats.accepted, stats.quarantined, stats.alerts_opened) == (len(SERIES), 1, 1)
        assert_episode_stored_and_alerted_once(staff)


# A class of its own: the city profile the flush removed is restored after each class.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("city_profile_restored_after_flush")
class TestListenCommand:
    def test_the_command_stores_readings_alerts_once_and_stops_on_sigterm(self, gauge, staff, publish):
        if connection.vendor != "postgresql":
            pytest.skip("the SQLite test database is in memory: another process cannot open it")
        prefix = f"test/{uuid.uuid4().hex[:12]}/sensors"
        db = connection.settings_dict
        env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:"
               f"{db['PORT'] or 5432}/{db['NAME']}", "DJANGO_SETTINGS_MODULE": "civicstack.settings"}  # fmt: skip
        process = subprocess.Popen(
            [CIVICSTACK, "iot", "listen", "--prefix", prefix, "--client-id", f"cmd-{uuid.uuid4().hex[:8]}",
             "--clean-session", "--receivers", "1", "--flush-ms", "100"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            assert "listening on" in process.stdout.readline()
            # The command says it listens before the broker acknowledged the subscription: probe
            # until a reading of an unknown station comes back quarantined, then publish.
            probe = f"{prefix}/PROBE/water_level"
            assert wait_until(lambda: publish(probe, {"value": 1}) or QuarantinedReading.objects.filter(
                reason="unknown_station").exists(), seconds=20)  # fmt: skip
            publish_episode(publish, prefix)
            assert wait_until(lambda: Reading.objects.count() == len(SERIES)
                              and QuarantinedReading.objects.filter(reason="malformed").exists())  # fmt: skip
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                output, _ = process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
                pytest.fail(f"the listener did not stop on SIGTERM: {output}")
        assert process.returncode == 0, output
        assert f"{len(SERIES)} readings stored" in output and "1 alerts opened" in output
        assert_episode_stored_and_alerted_once(staff)
