"""Ingestion through the real Mosquitto broker (settings.MQTT_URL): publish → stored → one alert.

Each test uses its own topic prefix, so runs in parallel do not see each other's messages. The
listener receives in paho's network thread; the test calls ``flush()`` itself so the write runs
in the test's database transaction."""

import datetime
import json
import time
import uuid

import paho.mqtt.client as mqtt
import pytest

from civicstack.core.models import Notification
from civicstack.iot import selectors
from civicstack.iot.models import AlertEpisode, QuarantinedReading, Reading
from civicstack.iot.mqtt import Listener, broker_address, readings_of_message

from .conftest import minutes_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener():
    prefix = f"test/{uuid.uuid4().hex[:12]}/sensors"
    running = Listener(
        prefix=prefix, client_id=f"test-{uuid.uuid4().hex[:8]}", clean_session=True, receivers=2
    )
    running.start()
    assert running.wait_ready(10), "no SUBACK from Mosquitto"
    yield running
    running.close()


@pytest.fixture
def publish():
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}"
    )
    client.connect(*broker_address())
    client.loop_start()

    def send(topic: str, payload) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        client.publish(topic, body, qos=1).wait_for_publish(5)

    yield send
    client.disconnect()
    client.loop_stop()


def wait_for(listener: Listener, count: int) -> None:
    deadline = time.monotonic() + 10
    while listener.pending() < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert listener.pending() == count


def test_published_readings_are_stored_and_a_crossing_alerts_once(
    gauge, air_station, listener, publish, staff
):
    start = minutes_ago(30)
    series = [4.2, 5.3, 5.8, 6.4, 5.9]  # one crossing of the 5.0 m warning level, then more readings above it
    for i, value in enumerate(series):
        at = (start + datetime.timedelta(minutes=i)).isoformat()
        publish(f"{listener.prefix}/WL-NK-01/water_level", {"value": value, "unit": "m", "measured_at": at})
    publish(
        f"{listener.prefix}/AQ-TY-01",
        {
            "measured_at": start.isoformat(),
            "readings": [
                {"quantity": "pm25", "value": 41, "unit": "μg/m3"},
                {"quantity": "temperature", "value": 23.5, "unit": "℃"},
            ],
        },
    )
    publish(f"{listener.prefix}/WL-NK-01/water_level", b"{not json")
    publish(
        f"{listener.prefix}/WL-NK-01/water_level",
        {"value": 99, "unit": "m", "measured_at": start.isoformat()},
    )
    wait_for(listener, 9)
    listener.flush()

    assert (listener.stats.accepted, listener.stats.quarantined, listener.stats.alerts_opened) == (7, 2, 1)
    assert listener.stats.reasons == {"malformed": 1, "out_of_range": 1}
    rows, _ = selectors.readings_after(0)
    # two receivers share the subscription: arrival order across them is not publication order
    gauge_rows = sorted((r["measured_at"], r["value"]) for r in rows if r["station"] == "WL-NK-01")
    assert [value for _, value in gauge_rows] == series
    assert {r["quantity"] for r in rows if r["station"] == "AQ-TY-01"} == {"pm25", "temperature"}
    episode = AlertEpisode.objects.get()
    assert (episode.opened_value, episode.peak_value, episode.is_open) == (5.3, 6.4, True)
    assert Notification.objects.filter(recipient=staff["clerk_a"]).count() == 1
    malformed = QuarantinedReading.objects.get(reason="malformed")
    assert "{not json" in malformed.payload["raw"] and listener.prefix in malformed.payload["raw"]

    # the same readings re-sent (a sensor retrying after a lost ack) change nothing
    for i, value in enumerate(series):
        at = (start + datetime.timedelta(minutes=i)).isoformat()
        publish(f"{listener.prefix}/WL-NK-01/water_level", [{"value": value, "unit": "m", "measured_at": at}])
    wait_for(listener, 5)
    listener.flush()
    assert listener.stats.duplicates == 5 and Reading.objects.count() == 7
    assert (
        AlertEpisode.objects.count() == 1
        and Notification.objects.filter(recipient=staff["clerk_a"]).count() == 1
    )


def test_topic_shapes():
    prefix = "city/taoyuan/sensors"
    one = readings_of_message(f"{prefix}/S1/pm25", b'{"value": 1, "unit": "u", "measured_at": 0}', prefix)
    assert one == [{"value": 1, "unit": "u", "measured_at": 0, "station": "S1", "quantity": "pm25"}]
    grouped = readings_of_message(
        f"{prefix}/S1",
        b'{"measured_at": "t", "readings": [{"quantity": "a", "value": 1, "unit": "u"}]}',
        prefix,
    )
    assert grouped == [{"measured_at": "t", "quantity": "a", "value": 1, "unit": "u", "station": "S1"}]
    for topic, payload in [(f"{prefix}/S1/a/b", b"{}"), (f"{prefix}/S1", b"[1]"), ("other/S1/a", b"{}"),
                           (f"{prefix}/S1/a", b"\xff\xfe")]:  # fmt: skip
        [item] = readings_of_message(topic, payload, prefix)
        assert isinstance(item, str) and topic in item
