"""Staff's waiting-room admin: live counts, max_active, pause/resume, the entry challenge, admit now; read-only
records."""

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from queueing import services
from queueing.models import QueueEntryHistory, QueueToken, WaitingRoom
from tests.factories import StaffFactory
from tests.support.browser import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


@pytest.fixture
def busy_room(concert, make_room, make_fans):
    """One fan admitted (max_active 1), two waiting."""
    room = make_room(max_active=1)
    for fan in make_fans(3):
        services.join(user=fan, concert=concert)
    return room


def changelist(model):
    return reverse(f"admin:queueing_{model}_changelist")


def test_the_changelist_shows_live_waiting_and_admitted_counts(queue_backend, staff_client, busy_room):
    response = staff_client.get(changelist("waitingroom"))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<td class="field-waiting_now">2</td>' in body
    assert '<td class="field-admitted_now">1 / 1</td>' in body


def test_the_change_form_shows_counts_and_saves_max_active(staff_client, busy_room):
    url = reverse("admin:queueing_waitingroom_change", args=[busy_room.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert "waiting now" in page.content.decode().lower()

    response = staff_client.post(
        url, {"max_active": "3", "admit_per_minute": "600", "is_paused": "on", "challenge_max_number": "100000"}
    )
    assert response.status_code == 302
    busy_room.refresh_from_db()
    assert (busy_room.max_active, busy_room.is_paused) == (3, True)

    refused = staff_client.post(url, {"max_active": "0"})
    assert refused.status_code == 200
    busy_room.refresh_from_db()
    assert busy_room.max_active == 3


def test_pause_and_resume_actions(staff_client, busy_room):
    url = changelist("waitingroom")
    staff_client.post(url, {"action": "pause_admission", "_selected_action": [busy_room.pk]})
    assert WaitingRoom.objects.get(pk=busy_room.pk).is_paused
    staff_client.post(url, {"action": "resume_admission", "_selected_action": [busy_room.pk]})
    assert not WaitingRoom.objects.get(pk=busy_room.pk).is_paused


def test_admit_now_action_admits_into_freed_places(queue_backend, staff_client, busy_room, concert):
    WaitingRoom.objects.filter(pk=busy_room.pk).update(max_active=3)
    response = staff_client.post(
        changelist("waitingroom"), {"action": "admit_batch_now", "_selected_action": [busy_room.pk]}, follow=True
    )
    assert "Admitted 2 fans." in response.content.decode()
    assert queue_backend.counts(concert_id=concert.pk, now=timezone.now()) == (0, 3)


def test_tokens_and_history_are_read_only_with_filters(staff_client, busy_room):
    for model in ("queuetoken", "queueentryhistory"):
        assert staff_client.get(changelist(model)).status_code == 200
        assert staff_client.get(reverse(f"admin:queueing_{model}_add")).status_code == 403
    assert staff_client.get(changelist("queuetoken"), {"state__exact": "WAITING"}).status_code == 200
    assert staff_client.get(changelist("queueentryhistory"), {"was_admitted__exact": "1"}).status_code == 200
    token = QueueToken.objects.first()
    change = staff_client.post(reverse("admin:queueing_queuetoken_change", args=[token.pk]), {"state": "ENDED"})
    assert change.status_code == 403
    assert QueueToken.objects.get(pk=token.pk).state == token.state
    assert QueueEntryHistory.objects.count() == 3


def test_counts_read_unavailable_when_redis_is_down(settings, redis_prefix, staff_client, busy_room):
    settings.QUEUE_BACKEND = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/3"
    response = staff_client.get(changelist("waitingroom"))
    assert response.status_code == 200
    assert "unavailable" in response.content.decode()


def test_staff_switch_the_entry_challenge_and_set_its_difficulty_per_concert(staff_client, busy_room):
    url = reverse("admin:queueing_waitingroom_change", args=[busy_room.pk])
    data = form_data(staff_client.get(url), "waitingroom_form")
    assert "challenge_max_number" in data
    data.update(challenge_enabled="on", challenge_max_number="250000")
    assert staff_client.post(url, data).status_code == 302
    busy_room.refresh_from_db()
    assert (busy_room.challenge_enabled, busy_room.challenge_max_number) == (True, 250_000)

    data = form_data(staff_client.get(url), "waitingroom_form")
    data.pop("challenge_enabled")  # unticked
    data["challenge_max_number"] = "999"  # below the floor: the form says so, the database is not asked
    refused = staff_client.post(url, data)
    assert refused.status_code == 200
    assert "greater than or equal to 1000" in refused.content.decode()
    busy_room.refresh_from_db()
    assert (busy_room.challenge_enabled, busy_room.challenge_max_number) == (True, 250_000)
    data["challenge_max_number"] = "1000"
    assert staff_client.post(url, data).status_code == 302
    busy_room.refresh_from_db()
    assert (busy_room.challenge_enabled, busy_room.challenge_max_number) == (False, 1000)


def test_staff_set_the_admission_rate_and_the_form_refuses_zero_or_less(staff_client, busy_room):
    url = reverse("admin:queueing_waitingroom_change", args=[busy_room.pk])
    page = staff_client.get(url)
    assert "fans admitted per minute" in page.content.decode().lower()
    assert busy_room.admit_per_minute == settings.QUEUE_ADMIT_PER_MINUTE  # a new room's default
    data = form_data(page, "waitingroom_form")
    data["admit_per_minute"] = "90"
    assert staff_client.post(url, data).status_code == 302
    busy_room.refresh_from_db()
    assert busy_room.admit_per_minute == 90

    for bad in ("0", "-5", "many"):
        data["admit_per_minute"] = bad
        refused = staff_client.post(url, data)
        assert refused.status_code == 200
        assert "errorlist" in refused.content.decode()
        busy_room.refresh_from_db()
        assert busy_room.admit_per_minute == 90


def test_the_changelist_edits_the_admission_rate_in_place(staff_client, busy_room):
    response = staff_client.get(changelist("waitingroom"))
    data = form_data(response, "changelist-form")
    assert data["form-0-admit_per_minute"] == str(settings.QUEUE_ADMIT_PER_MINUTE)
    data.update({"form-0-admit_per_minute": "120", "_save": "Save"})
    assert staff_client.post(changelist("waitingroom"), data).status_code == 302
    assert WaitingRoom.objects.get(pk=busy_room.pk).admit_per_minute == 120
    data["form-0-admit_per_minute"] = "0"
    assert staff_client.post(changelist("waitingroom"), data).status_code == 200
    assert WaitingRoom.objects.get(pk=busy_room.pk).admit_per_minute == 120
