"""Staff delete a date (or a concert) while a fan holds one of its seats: the admin checked that nobody had
booked it, the fan's hold lands before the delete, and the service's check under the date's lock refuses.

Each race is replayed with tests.support.concurrency.meanwhile: the hold runs on another connection right
after the admin's own check (right before it calls the service). PostgreSQL, transactional: every side
commits on its own.
"""

import datetime

import pytest
from django.contrib import admin
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from booking.models import Reservation
from concerts import admin as concerts_admin
from concerts.models import Concert, ConcertDate
from tests import factories
from tests.support.concurrency import meanwhile
from tests.support.sales import holding_fan

pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = "Fans have paid for or are holding 1 seat on this"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def _hold(date, seat=5):
    return lambda: holding_fan(concert_date=date, seats=[seat])[1][0]


def _registered(model):
    """The admin class the site serves for `model` (booking registers the date page again)."""
    return type(admin.site._registry[model])


def _messages(response):
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def _untouched(dates, ran):
    assert ran, "the fan's hold did not run inside staff's request"
    assert ConcertDate.objects.filter(pk__in=[date.pk for date in dates]).count() == len(dates)
    hold = Reservation.objects.get(pk=ran[0].pk)
    assert (hold.status, hold.seat.concert_date_id) == (Reservation.Status.HOLD, dates[0].pk)
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_a_hold_landing_after_the_delete_pages_check_is_an_error_message_and_deletes_nothing(staff_client):
    date = factories.ConcertDateFactory()
    url = reverse("admin:concerts_concertdate_delete", args=[date.pk])

    with meanwhile(_registered(ConcertDate), "delete_model", _hold(date), before=True) as ran:
        response = staff_client.post(url, {"post": "yes"})

    _untouched([date], ran)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:concerts_concertdate_change", args=[date.pk])
    [(level, text)] = _messages(response)
    assert level == "error" and text.startswith(REFUSED)


def test_a_hold_landing_during_the_bulk_delete_deletes_none_of_the_selected_dates(staff_client):
    raced = factories.ConcertDateFactory()
    free = factories.ConcertDateFactory(concert=raced.concert, starts_at=raced.starts_at + datetime.timedelta(days=1))
    data = {"action": "delete_selected", "_selected_action": [str(free.pk), str(raced.pk)], "post": "yes"}

    with meanwhile(_registered(ConcertDate), "delete_queryset", _hold(raced), before=True) as ran:
        response = staff_client.post(reverse("admin:concerts_concertdate_changelist"), data)

    _untouched([raced, free], ran)
    assert response.status_code == 302
    [(level, text)] = _messages(response)
    assert level == "error" and REFUSED in text
    raced.concert.refresh_from_db()
    assert raced.concert.end_time == free.starts_at  # the span is the one of both dates still


def test_a_hold_landing_before_the_concert_form_deletes_its_date_saves_nothing(staff_client):
    date = factories.ConcertDateFactory()
    concert = date.concert
    opens = timezone.localtime(concert.sale_opens_at)
    start = timezone.localtime(date.starts_at)
    data = {
        "title": "Renamed in the same post",
        "description": concert.description,
        "venue": concert.venue,
        "sale_opens_at_0": opens.date().isoformat(),
        "sale_opens_at_1": opens.strftime("%H:%M:%S"),
        "dates-TOTAL_FORMS": "1",
        "dates-INITIAL_FORMS": "1",
        "dates-MIN_NUM_FORMS": "0",
        "dates-MAX_NUM_FORMS": "1000",
        # The presale windows inline (none here).
        "presales-TOTAL_FORMS": "0",
        "presales-INITIAL_FORMS": "0",
        "cancellation_fee_rules-TOTAL_FORMS": "0",  # the fee schedule inline, no rows
        "cancellation_fee_rules-INITIAL_FORMS": "0",
        "cancellation_fee_rules-MIN_NUM_FORMS": "0",
        "cancellation_fee_rules-MAX_NUM_FORMS": "1000",
        "dates-0-id": str(date.pk),
        "dates-0-concert": str(concert.pk),
        "dates-0-starts_at_0": start.date().isoformat(),
        "dates-0-starts_at_1": start.strftime("%H:%M:%S"),
        "dates-0-DELETE": "on",
    }
    url = reverse("admin:concerts_concert_change", args=[concert.pk])

    with meanwhile(concerts_admin, "delete_concert_date", _hold(date), before=True) as ran:
        response = staff_client.post(url, data)

    _untouched([date], ran)
    assert response.status_code == 302 and response["Location"] == url
    [(level, text)] = _messages(response)
    assert level == "error" and REFUSED in text
    concert.refresh_from_db()
    assert concert.title != "Renamed in the same post"


def test_a_hold_landing_after_the_concert_delete_pages_check_deletes_neither_concert_nor_date(staff_client):
    date = factories.ConcertDateFactory()
    concert = date.concert
    url = reverse("admin:concerts_concert_delete", args=[concert.pk])

    with meanwhile(_registered(Concert), "delete_model", _hold(date), before=True) as ran:
        response = staff_client.post(url, {"post": "yes"})

    _untouched([date], ran)
    assert Concert.objects.filter(pk=concert.pk).exists()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:concerts_concert_change", args=[concert.pk])
    [(level, text)] = _messages(response)
    assert level == "error" and text.startswith("Fans have paid for or are holding 1 seat on this concert")


def test_a_hold_landing_during_the_concerts_bulk_delete_deletes_nothing(staff_client):
    date = factories.ConcertDateFactory()
    other = factories.ConcertDateFactory()
    data = {
        "action": "delete_selected",
        "_selected_action": [str(other.concert_id), str(date.concert_id)],
        "post": "yes",
    }

    with meanwhile(_registered(Concert), "delete_queryset", _hold(date), before=True) as ran:
        response = staff_client.post(reverse("admin:concerts_concert_changelist"), data)

    _untouched([date, other], ran)
    assert Concert.objects.count() == 2
    [(level, _text)] = _messages(response)
    assert level == "error"


def test_deleting_a_date_nobody_booked_still_works_from_the_page_and_the_list(staff_client):
    first = factories.ConcertDateFactory()
    second = factories.ConcertDateFactory(concert=first.concert, starts_at=first.starts_at + datetime.timedelta(days=1))
    third = factories.ConcertDateFactory(concert=first.concert, starts_at=first.starts_at + datetime.timedelta(days=2))

    response = staff_client.post(reverse("admin:concerts_concertdate_delete", args=[third.pk]), {"post": "yes"})
    assert response.status_code == 302
    data = {"action": "delete_selected", "_selected_action": [str(first.pk), str(second.pk)], "post": "yes"}
    response = staff_client.post(reverse("admin:concerts_concertdate_changelist"), data)

    assert response.status_code == 302
    assert not ConcertDate.objects.exists()
    assert LogEntry.objects.filter(action_flag=DELETION).count() == 3
    first.concert.refresh_from_db()
    assert (first.concert.start_time, first.concert.end_time) == (None, None)
