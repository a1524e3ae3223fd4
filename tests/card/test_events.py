"""Experience events (S02): sign-ups, participants, visits and cards issued on site, per event and
in total, the way the report counts them."""

import datetime
import re

import pytest

from civicstack.card import selectors, services
from civicstack.card.errors import ApplicationStateConflict
from civicstack.core.errors import InvalidInput, PermissionDenied
from civicstack.core.models import District


@pytest.fixture
def event(card_agency):
    return services.event_create(
        actor=None, title="智慧生活體驗營", venue="中壢區公所廣場", district=District.objects.first(),
        starts_on=datetime.date(2018, 10, 13), ends_on=datetime.date(2018, 10, 14), organiser=card_agency,
        capacity=2,
    )  # fmt: skip


def test_report_counts_signups_participants_visits_and_cards(event, make_person, card_clerk, photo):
    first = services.event_sign_up(actor=None, event=event, name="王大同", phone="0912000111")
    services.event_sign_up(actor=None, event=event, name="李小華")
    services.event_check_in(actor=card_clerk, signup=first)
    services.event_check_in(actor=card_clerk, signup=first)  # twice is still one participant
    services.event_sign_up(actor=card_clerk, event=event, name="路過的人", source="walk_in", checked_in=True)
    services.event_visits_record(actor=card_clerk, event=event, visits=120)
    services.event_visits_record(actor=card_clerk, event=event, visits=35)
    application = services.application_submit(
        actor=card_clerk, person=make_person(), kind="general", channel="event", event=event, photo=photo
    )
    card = services.application_approve(actor=card_clerk, application=application)
    assert card.event == event and card.channel == "event"

    report = selectors.events_report()
    row = report["events"][0]
    assert (row["signups"], row["participants"], row["visits"], row["cards_issued"]) == (3, 2, 155, 1)
    assert report["totals"] == {"signups": 3, "participants": 2, "visits": 155, "cards_issued": 1}


def test_online_signups_stop_at_capacity_but_walk_ins_do_not(event, card_clerk):
    services.event_sign_up(actor=None, event=event, name="甲")
    services.event_sign_up(actor=None, event=event, name="乙")
    with pytest.raises(ApplicationStateConflict):
        services.event_sign_up(actor=None, event=event, name="丙")
    services.event_sign_up(actor=card_clerk, event=event, name="丁", source="walk_in", checked_in=True)


def test_bad_event_input(card_agency, card_clerk, event, citizen):
    with pytest.raises(InvalidInput):
        services.event_create(
            actor=None, title="x", venue="y", district=District.objects.first(), organiser=card_agency,
            starts_on=datetime.date(2019, 1, 2), ends_on=datetime.date(2019, 1, 1),
        )  # fmt: skip
    for visits in (0, -5, 10**6, True):
        with pytest.raises(InvalidInput):
            services.event_visits_record(actor=card_clerk, event=event, visits=visits)
    with pytest.raises(PermissionDenied):
        services.event_visits_record(actor=citizen[0], event=event, visits=10)


def test_an_event_application_needs_its_event(card_clerk, make_person, photo):
    with pytest.raises(InvalidInput):
        services.application_submit(
            actor=card_clerk, person=make_person(), kind="general", channel="event", photo=photo
        )


def test_the_reports_figures_are_expressible(card_agency):
    """17 events, 1,987 cards, 7,886 participants, 24,097 visits: the report's totals fit the model."""
    events = [
        services.event_create(
            actor=None,
            title=f"體驗活動 {i + 1}",
            venue="場地",
            district=District.objects.first(),
            starts_on=datetime.date(2018, 10, 1) + datetime.timedelta(days=7 * i),
            ends_on=datetime.date(2018, 10, 1) + datetime.timedelta(days=7 * i),
            organiser=card_agency,
        )  # fmt: skip
        for i in range(17)
    ]
    for i, event in enumerate(events):
        services.event_visits_record(
            actor=None, event=event, visits=24_097 // 17 + (1 if i < 24_097 % 17 else 0)
        )
    assert selectors.events_report()["totals"]["visits"] == 24_097
    assert selectors.events_report()["count"] == 17


def test_a_refusal_on_the_staff_console_is_a_message_not_a_server_error(
    card_agency, card_clerk, client_for, monkeypatch
):
    """Any service refusal (here a conflict the form cannot foresee) is shown on the console page;
    the admin's transaction is rolled back."""
    from civicstack.card.models import ExperienceEvent
    from civicstack.core.errors import Conflict

    def refuse(**data):
        ExperienceEvent.objects.create(**{k: v for k, v in data.items() if k != "actor"})
        raise Conflict("Another event already uses this venue on those days.")

    monkeypatch.setattr(services, "event_create", refuse)
    response = client_for(card_clerk).post(
        "/staff/card/experienceevent/add/",
        {"title": "市民卡體驗", "venue": "中壢區公所", "district": District.objects.first().pk, "address": "",
         "starts_on": "2019-03-01", "ends_on": "2019-03-02", "organiser": card_agency.pk, "capacity": "",
         "description": ""},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    assert "Another event already uses this venue on those days." in response.content.decode()
    assert not ExperienceEvent.objects.filter(title="市民卡體驗").exists()


def test_a_visit_count_sent_twice_with_its_key_counts_once(event, card_clerk, client_for):
    from civicstack.core.errors import Conflict

    first = services.event_visits_record(actor=card_clerk, event=event, visits=40, key="tally-1")
    assert services.event_visits_record(actor=card_clerk, event=event, visits=40, key="tally-1") == first
    with pytest.raises(Conflict):
        services.event_visits_record(actor=card_clerk, event=event, visits=41, key="tally-1")
    client = client_for(card_clerk)
    form = client.get(f"/card/staff/events/{event.pk}/").content.decode()
    token = re.search(r'name="key" value="([0-9a-f]{32})"', form).group(1)
    for _ in range(2):  # a double click
        client.post(f"/card/staff/events/{event.pk}/visits/", {"visits": "15", "key": token})
    api = client.post(f"/api/v1/card/events/{event.pk}/visits", {"visits": 5}, content_type="application/json",
                      HTTP_IDEMPOTENCY_KEY="api-1")  # fmt: skip
    again = client.post(f"/api/v1/card/events/{event.pk}/visits", {"visits": 5}, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="api-1")  # fmt: skip
    assert api.json()["id"] == again.json()["id"] and again.json()["total_visits"] == 40 + 15 + 5
    [row] = selectors.events_report(type(event).objects.filter(pk=event.pk))["events"]
    assert row["visits"] == 60
