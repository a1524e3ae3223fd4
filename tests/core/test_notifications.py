"""Notifications: the in-app inbox, e-mail after commit, and the API (own messages only)."""

import pytest
from django.conf import settings
from django.db import transaction

from civicstack.core import services
from civicstack.core.models import Notification


@pytest.fixture
def alice(make_user):
    return make_user("alice", email="alice@example.org")


@pytest.fixture
def bob(make_user):
    return make_user("bob", email="bob@example.org")


# --- the service ----------------------------------------------------------------------------------


def test_a_notification_goes_to_the_inbox_and_is_emailed_after_commit(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    # given a user with an e-mail address
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # when a notification is sent
        notification = services.notification_send(
            recipient=alice,
            subject="申請已受理 Application received",
            body="您的申請已受理。",
            url="/my/cases/7/",
        )
        # then it is in the inbox at once, unread, but no e-mail leaves before the commit
        assert list(Notification.objects.filter(recipient=alice)) == [notification]
        assert notification.read_at is None
        assert mailoutbox == []
    # and after the commit exactly one e-mail is sent, with the link appended
    assert len(callbacks) == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["alice@example.org"]
    assert mail.from_email == settings.DEFAULT_FROM_EMAIL
    assert mail.subject == "申請已受理 Application received"
    assert mail.body == "您的申請已受理。\n\n/my/cases/7/"
    # and the notification records when it was e-mailed
    assert Notification.objects.get(pk=notification.pk).emailed_at is not None


def test_no_email_leaves_if_the_transaction_is_rolled_back(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    # given a notification sent inside a transaction that then fails
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.notification_send(recipient=alice, subject="s", body="b")
            raise RuntimeError("the action failed")
    # then neither the inbox copy nor the e-mail exists
    assert callbacks == []
    assert mailoutbox == []
    assert not Notification.objects.filter(recipient=alice).exists()


def test_no_email_without_an_address(make_user, mailoutbox, django_capture_on_commit_callbacks):
    # given a user with no e-mail address
    user = make_user("noaddress")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # when notified
        notification = services.notification_send(recipient=user, subject="s", body="b")
    # then the message is in the inbox, and nothing is e-mailed
    assert Notification.objects.get(recipient=user).pk == notification.pk
    assert callbacks == []
    assert mailoutbox == []
    assert Notification.objects.get(pk=notification.pk).emailed_at is None


def test_send_email_false_keeps_it_in_the_inbox_only(alice, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.notification_send(recipient=alice, subject="s", body="b", send_email=False)
    assert callbacks == []
    assert mailoutbox == []
    assert Notification.objects.filter(recipient=alice).count() == 1


# --- the API ----------------------------------------------------------------------------------------


def test_the_api_lists_own_notifications_only(alice, bob, client_for):
    # given messages for two users
    mine = [
        services.notification_send(recipient=alice, subject=f"alice {i}", body="b", url="/my/")
        for i in range(3)
    ]
    services.notification_send(recipient=bob, subject="bob's secret", body="b")
    # when alice lists her notifications
    response = client_for(alice).get("/api/v1/core/notifications")
    # then she sees hers, newest first, and none of bob's
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == [n.pk for n in reversed(mine)]
    assert [item["subject"] for item in body["items"]] == ["alice 2", "alice 1", "alice 0"]
    assert (body["count"], body["page"], body["pages"]) == (3, 1, 1)
    assert set(body["items"][0]) == {"id", "subject", "body", "url", "created_at", "read_at"}
    assert body["items"][0]["read_at"] is None


def test_marking_read_through_the_api(alice, client_for, token_for):
    # given two unread notifications
    first = services.notification_send(recipient=alice, subject="first", body="b")
    second = services.notification_send(recipient=alice, subject="second", body="b")
    client = client_for(None)
    # when one is marked read (with a bearer token)
    response = client.post(f"/api/v1/core/notifications/{first.pk}/read", **token_for(alice))
    # then it comes back read, is read in the database, and the unread list holds only the other
    assert response.status_code == 200
    assert response.json()["id"] == first.pk
    assert response.json()["read_at"] is not None
    read_at = Notification.objects.get(pk=first.pk).read_at
    assert read_at is not None
    unread = client.get("/api/v1/core/notifications", {"unread": "true"}, **token_for(alice))
    assert [item["id"] for item in unread.json()["items"]] == [second.pk]
    # and marking it again keeps the first reading time
    again = client.post(f"/api/v1/core/notifications/{first.pk}/read", **token_for(alice))
    assert again.status_code == 200
    assert Notification.objects.get(pk=first.pk).read_at == read_at


def test_marking_read_with_a_session(alice, client_for):
    notification = services.notification_send(recipient=alice, subject="s", body="b")
    response = client_for(alice).post(f"/api/v1/core/notifications/{notification.pk}/read")
    assert response.status_code == 200
    assert Notification.objects.get(pk=notification.pk).read_at is not None


def test_someone_elses_notification_is_not_found(alice, bob, client_for):
    # given bob's notification
    bobs = services.notification_send(recipient=bob, subject="bob's", body="b")
    # when alice tries to mark it read
    response = client_for(alice).post(f"/api/v1/core/notifications/{bobs.pk}/read")
    # then it is not found, exactly as a missing one, and it stays unread
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "notification not found", "details": None}
    }
    missing = client_for(alice).post(f"/api/v1/core/notifications/{bobs.pk + 1000}/read")
    assert missing.status_code == 404
    assert missing.json() == response.json()
    assert Notification.objects.get(pk=bobs.pk).read_at is None


def test_the_api_needs_a_login(alice, client_for):
    notification = services.notification_send(recipient=alice, subject="s", body="b")
    listed = client_for(None).get("/api/v1/core/notifications")
    marked = client_for(None).post(f"/api/v1/core/notifications/{notification.pk}/read")
    for response in (listed, marked):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
    assert Notification.objects.get(pk=notification.pk).read_at is None
