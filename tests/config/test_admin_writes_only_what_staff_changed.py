"""Issue 11 (items 1, 3 and 9): an admin form writes only the fields staff changed, so a fan or a service
that changed the same row while staff's request was running keeps its change.

Each race is replayed for real: staff post the form through the test client, and between the moment the
admin read the row and the moment it writes, a service call runs to the end on another connection
(tests.support.concurrency.meanwhile). PostgreSQL, transactional: every side commits on its own.
"""

import datetime

import pytest
from django.contrib import admin
from django.forms.models import BaseModelForm
from django.urls import reverse
from django.utils import timezone

from booking import services as booking_services
from concerts.models import ConcertDate
from config.admin import SavesChangedFieldsAdmin
from queueing import services as queue_services
from queueing.models import QueueToken, WaitingRoom
from tests.factories import ConcertDateFactory, ConcertFactory, StaffFactory, UserFactory, WaitingRoomFactory
from tests.support.browser import form_data
from tests.support.concurrency import meanwhile
from tests.support.sales import holding_fan, paid_fan

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _english_and_database_queue(settings):
    settings.LANGUAGE_CODE = "en"
    settings.QUEUE_BACKEND = "database"


def _validating(model):
    """Pick the first ModelForm validation of an existing `model` row."""
    return lambda form, *args, **kwargs: isinstance(form.instance, model) and form.instance.pk is not None


def _room(max_active=1):
    room = WaitingRoomFactory(concert=ConcertFactory())
    WaitingRoom.objects.filter(pk=room.pk).update(max_active=max_active)
    return room


def _join(concert):
    return lambda: queue_services.join(user=UserFactory(), concert=concert)


def test_every_admin_that_edits_rows_saves_only_what_staff_changed(rf):
    request = rf.get("/")
    request.user = StaffFactory()
    editing = [
        model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in {"accounts", "concerts", "booking", "wallet", "queueing"}
        and (model_admin.has_change_permission(request) or model_admin.has_add_permission(request))
    ]
    assert len(editing) >= 4  # users, concerts, dates, waiting rooms
    assert [ma for ma in editing if not isinstance(ma, SavesChangedFieldsAdmin)] == []


# --- item 1: the waiting room ------------------------------------------------------------------------


def test_saving_the_waiting_room_form_while_a_fan_joins_keeps_the_queue_counters(staff_client):
    room = _room(max_active=1)
    concert = room.concert
    queue_services.join(user=UserFactory(), concert=concert)  # admitted at once: place 1
    url = reverse("admin:queueing_waitingroom_change", args=[room.pk])
    data = form_data(staff_client.get(url), "waitingroom_form")
    data["max_active"] = "2"

    with meanwhile(BaseModelForm, "full_clean", _join(concert), when=_validating(WaitingRoom), before=True) as ran:
        response = staff_client.post(url, data)

    assert ran, "the fan's join did not run inside staff's request"
    assert response.status_code == 302
    room.refresh_from_db()
    assert (room.max_active, room.next_position, room.served_position, room.admitted_total) == (2, 2, 1, 1)
    third = queue_services.join(user=UserFactory(), concert=concert)  # answered 500 before: place 2 again
    assert QueueToken.objects.get(token=third.token).queue_position == 3


def test_the_list_pages_max_active_edit_while_fans_join_keeps_the_queue_counters(staff_client):
    room = _room(max_active=1)
    concert = room.concert
    queue_services.join(user=UserFactory(), concert=concert)
    url = reverse("admin:queueing_waitingroom_changelist")
    data = form_data(staff_client.get(url), "changelist-form")
    data["form-0-max_active"] = "5"
    data["_save"] = "Save"

    with meanwhile(BaseModelForm, "full_clean", _join(concert), when=_validating(WaitingRoom), before=True) as ran:
        response = staff_client.post(url, data)

    assert ran and response.status_code == 302
    room.refresh_from_db()
    assert (room.max_active, room.next_position, room.admitted_total) == (5, 2, 1)
    queue_services.join(user=UserFactory(), concert=concert)
    assert WaitingRoom.objects.get(pk=room.pk).next_position == 3


def test_a_pause_made_while_staff_edit_max_active_stays(staff_client):
    """Staff B pauses admission from the list while staff A, whose form still shows "not paused", saves a
    new max_active: A changed only max_active, so only max_active is written."""
    room = _room(max_active=1)
    url = reverse("admin:queueing_waitingroom_change", args=[room.pk])
    data = form_data(staff_client.get(url), "waitingroom_form")
    data["max_active"] = "3"

    def pause():
        queue_services.set_paused(concert=room.concert, paused=True)

    with meanwhile(BaseModelForm, "full_clean", pause, when=_validating(WaitingRoom), before=True) as ran:
        response = staff_client.post(url, data)

    assert ran and response.status_code == 302
    room.refresh_from_db()
    assert (room.max_active, room.is_paused) == (3, True)


def test_a_waiting_room_with_fans_cannot_be_deleted(staff_client):
    room = _room(max_active=1)
    concert = room.concert
    for _ in range(2):
        queue_services.join(user=UserFactory(), concert=concert)

    page = staff_client.get(reverse("admin:queueing_waitingroom_change", args=[room.pk]))
    assert reverse("admin:queueing_waitingroom_delete", args=[room.pk]) not in page.content.decode()
    refused = staff_client.post(reverse("admin:queueing_waitingroom_delete", args=[room.pk]), {"post": "yes"})
    assert refused.status_code in (302, 403)
    bulk = staff_client.post(
        reverse("admin:queueing_waitingroom_changelist"),
        {"action": "delete_selected", "_selected_action": [room.pk], "post": "yes"},
        follow=True,
    )
    assert bulk.status_code == 200
    assert WaitingRoom.objects.filter(pk=room.pk, next_position=2).exists()
    third = queue_services.join(user=UserFactory(), concert=concert)
    assert QueueToken.objects.get(token=third.token).queue_position == 3


def test_an_empty_waiting_room_can_still_be_deleted(staff_client):
    room = _room()
    response = staff_client.post(reverse("admin:queueing_waitingroom_delete", args=[room.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not WaitingRoom.objects.filter(pk=room.pk).exists()


# --- item 3: a cancelled date stays cancelled ---------------------------------------------------------


def _cancel(date):
    return lambda: booking_services.cancel_concert_date(concert_date=date, reason="storm", enqueue=False)


def test_saving_the_date_form_while_the_date_is_cancelled_keeps_it_cancelled(staff_client):
    date = ConcertDateFactory()
    url = reverse("admin:concerts_concertdate_change", args=[date.pk])
    data = form_data(staff_client.get(url), "concertdate_form")
    data["starts_at_0"] = (date.concert_date + datetime.timedelta(days=1)).isoformat()

    with meanwhile(BaseModelForm, "full_clean", _cancel(date), when=_validating(ConcertDate), before=True) as ran:
        response = staff_client.post(url, data)

    assert ran
    assert response.status_code in (200, 302)
    date.refresh_from_db()
    assert date.status == ConcertDate.Status.CANCELLED
    assert date.cancelled_at is not None


def test_saving_the_concert_page_while_a_date_is_cancelled_keeps_it_cancelled(staff_client):
    date = ConcertDateFactory()
    concert = date.concert
    url = reverse("admin:concerts_concert_change", args=[concert.pk])
    data = form_data(staff_client.get(url), "concert_form")
    data["title"] = "Renamed"
    data["dates-0-starts_at_0"] = (date.concert_date + datetime.timedelta(days=1)).isoformat()

    with meanwhile(BaseModelForm, "full_clean", _cancel(date), when=_validating(ConcertDate), before=True) as ran:
        response = staff_client.post(url, data)

    assert ran
    assert response.status_code in (200, 302)
    date.refresh_from_db()
    assert date.status == ConcertDate.Status.CANCELLED


# --- item 9: moving a date ----------------------------------------------------------------------------


def test_moving_a_date_onto_another_day_of_its_concert_is_a_form_error(staff_client):
    concert = ConcertFactory()
    first = ConcertDateFactory(concert=concert, concert_date=datetime.date(2031, 3, 1))
    ConcertDateFactory(concert=concert, concert_date=datetime.date(2031, 3, 2))
    url = reverse("admin:concerts_concertdate_change", args=[first.pk])
    data = form_data(staff_client.get(url), "concertdate_form")
    data["starts_at_0"] = "2031-03-02"

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert "starts_at" in response.context["adminform"].form.errors
    first.refresh_from_db()
    assert first.concert_date == datetime.date(2031, 3, 1)


def test_the_concert_page_lists_its_dates_by_day(staff_client):
    concert = ConcertFactory()
    for day in (5, 1, 3, 2, 4):
        ConcertDateFactory(concert=concert, concert_date=datetime.date(2031, 3, day))
    data = form_data(staff_client.get(reverse("admin:concerts_concert_change", args=[concert.pk])), "concert_form")
    assert [data[f"dates-{i}-starts_at_0"] for i in range(5)] == [f"2031-03-0{day}" for day in range(1, 6)]


def test_moving_a_date_onto_another_day_on_the_concert_page_is_a_form_error(staff_client):
    concert = ConcertFactory()
    ConcertDateFactory(concert=concert, concert_date=datetime.date(2031, 3, 1))
    ConcertDateFactory(concert=concert, concert_date=datetime.date(2031, 3, 2))
    url = reverse("admin:concerts_concert_change", args=[concert.pk])
    data = form_data(staff_client.get(url), "concert_form")
    data["dates-0-starts_at_0"] = "2031-03-02"

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert set(concert.dates.values_list("concert_date", flat=True)) == {
        datetime.date(2031, 3, 1),
        datetime.date(2031, 3, 2),
    }


@pytest.mark.parametrize("page", ["date", "concert"])
def test_the_day_of_a_date_with_paid_tickets_cannot_move(staff_client, page):
    date = ConcertDateFactory()
    paid_fan(concert_date=date, seats=[1])
    day = date.concert_date + datetime.timedelta(days=7)
    if page == "date":
        url, form_id, field = reverse("admin:concerts_concertdate_change", args=[date.pk]), "concertdate_form", ""
    else:
        url, form_id, field = (
            reverse("admin:concerts_concert_change", args=[date.concert.pk]),
            "concert_form",
            "dates-0-",
        )
    data = form_data(staff_client.get(url), form_id)
    data[f"{field}starts_at_0"] = day.isoformat()

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert "cancel" in response.content.decode().lower()
    date.refresh_from_db()
    assert date.concert_date != day


def test_a_hold_made_while_staff_move_the_day_refuses_the_move(staff_client):
    date = ConcertDateFactory()
    url = reverse("admin:concerts_concertdate_change", args=[date.pk])
    data = form_data(staff_client.get(url), "concertdate_form")
    data["starts_at_0"] = (date.concert_date + datetime.timedelta(days=7)).isoformat()

    with meanwhile(
        BaseModelForm,
        "full_clean",
        lambda: holding_fan(concert_date=date, seats=[5]),
        when=_validating(ConcertDate),
        before=True,
    ) as ran:
        response = staff_client.post(url, data)

    assert ran
    assert response.status_code == 200
    assert "starts_at" in response.context["adminform"].form.errors
    date.refresh_from_db()
    assert date.concert_date == timezone.localdate(date.concert.start_time)
