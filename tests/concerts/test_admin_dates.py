"""Staff set each date's own start in the admin; the concert's span follows its dates and is only shown."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from booking import services as booking_services
from concerts.models import ConcertDate
from queueing import services as queue_services
from tests import factories
from wallet import services as wallet_services

pytestmark = pytest.mark.django_db


def _change_url(concert):
    return reverse("admin:concerts_concert_change", args=[concert.pk])


def _concert_form(concert, *rows):
    """The concert change form as the browser posts it; rows are (date or None, local start, extra fields)."""
    opens = timezone.localtime(concert.sale_opens_at)
    data = {
        "title": concert.title,
        "description": concert.description,
        "venue": concert.venue,
        "sale_opens_at_0": opens.date().isoformat(),
        "sale_opens_at_1": opens.strftime("%H:%M:%S"),
        "dates-TOTAL_FORMS": str(len(rows)),
        "dates-INITIAL_FORMS": str(sum(1 for date, *_ in rows if date is not None)),
        "dates-MIN_NUM_FORMS": "0",
        "dates-MAX_NUM_FORMS": "1000",
        # The presale windows inline (none here).
        "presales-TOTAL_FORMS": "0",
        "presales-INITIAL_FORMS": "0",
        "cancellation_fee_rules-TOTAL_FORMS": "0",  # the fee schedule inline, no rows
        "cancellation_fee_rules-INITIAL_FORMS": "0",
        "cancellation_fee_rules-MIN_NUM_FORMS": "0",
        "cancellation_fee_rules-MAX_NUM_FORMS": "1000",
    }
    for index, (date, start, extra) in enumerate(rows):
        prefix = f"dates-{index}-"
        data[prefix + "concert"] = str(concert.pk)
        if date is not None:
            data[prefix + "id"] = str(date.pk)
        data[prefix + "starts_at_0"] = start.date().isoformat()
        data[prefix + "starts_at_1"] = start.strftime("%H:%M:%S")
        data.update({prefix + key: value for key, value in extra.items()})
    return data


def _local(moment):
    return timezone.localtime(moment).replace(second=0, microsecond=0)


def test_the_concert_form_shows_the_span_of_its_dates_and_has_no_start_or_end_to_edit(staff_client):
    date = factories.ConcertDateFactory()

    page = staff_client.get(_change_url(date.concert)).content.decode()

    assert 'name="start_time_0"' not in page and 'name="end_time_0"' not in page
    assert 'name="dates-0-starts_at_0"' in page and 'name="dates-0-starts_at_1"' in page
    assert "첫 회차 시작" in page and "마지막 회차 시작" in page


def test_a_date_added_in_the_admin_after_the_concerts_last_show_widens_it_and_can_be_booked(staff_client):
    now = timezone.now()
    first = factories.ConcertDateFactory(starts_at=now + datetime.timedelta(days=1))
    concert = first.concert
    late = _local(now + datetime.timedelta(days=20))

    response = staff_client.post(
        _change_url(concert), _concert_form(concert, (first, _local(first.starts_at), {}), (None, late, {}))
    )

    assert response.status_code == 302
    concert.refresh_from_db()
    assert concert.end_time == late
    then = now + datetime.timedelta(days=5)  # the first show is over
    fan = factories.UserFactory()
    assert queue_services.join(user=fan, concert=concert, now=then).admitted
    added = concert.dates.get(starts_at=late)
    booking_services.hold_seats(user=fan, concert_date=added, seat_numbers=[1], now=then)


def test_moving_a_dates_start_in_the_concert_form_moves_that_date_only_and_the_span(staff_client):
    first = factories.ConcertDateFactory()
    second = factories.ConcertDateFactory(concert=first.concert, starts_at=first.starts_at + datetime.timedelta(days=1))
    concert = first.concert
    matinee = _local(second.starts_at).replace(hour=14, minute=0)

    response = staff_client.post(
        _change_url(concert),
        _concert_form(concert, (first, _local(first.starts_at), {}), (second, matinee, {})),
    )

    assert response.status_code == 302
    first_before = first.starts_at
    first.refresh_from_db()
    second.refresh_from_db()
    concert.refresh_from_db()
    assert first.starts_at == first_before
    assert second.starts_at == matinee
    assert concert.end_time == max(first.starts_at, matinee)


def test_moving_a_sold_date_to_another_day_in_the_admin_is_a_form_error_not_a_500(staff_client):
    date = factories.ConcertDateFactory()
    fan = factories.UserFactory()
    wallet_services.charge(user=fan, amount=500_000)
    booking_services.hold_seats(user=fan, concert_date=date, seat_numbers=[1])
    booking_services.pay(user=fan, concert_date=date, idempotency_key="k")
    before = date.starts_at

    inline = staff_client.post(
        _change_url(date.concert),
        _concert_form(date.concert, (date, _local(before) + datetime.timedelta(days=1), {})),
    )
    standalone = staff_client.post(
        reverse("admin:concerts_concertdate_change", args=[date.pk]),
        {
            "starts_at_0": (_local(before) + datetime.timedelta(days=1)).date().isoformat(),
            "starts_at_1": _local(before).strftime("%H:%M:%S"),
        },
    )

    assert inline.status_code == 200
    assert inline.context["inline_admin_formsets"][0].formset.errors[0]["starts_at"]
    assert standalone.status_code == 200
    assert standalone.context["adminform"].form.errors["starts_at"]
    date.refresh_from_db()
    assert date.starts_at == before


def test_two_new_rows_on_one_day_are_a_form_error(staff_client):
    concert = factories.ConcertFactory()
    day = _local(timezone.now() + datetime.timedelta(days=9))

    response = staff_client.post(
        _change_url(concert),
        _concert_form(concert, (None, day.replace(hour=14), {}), (None, day.replace(hour=19), {})),
    )

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.errors[1]["starts_at"]
    assert not ConcertDate.objects.exists()


def test_deleting_a_date_in_the_concert_form_shrinks_the_span(staff_client):
    first = factories.ConcertDateFactory()
    last = factories.ConcertDateFactory(concert=first.concert, starts_at=first.starts_at + datetime.timedelta(days=2))
    concert = first.concert

    response = staff_client.post(
        _change_url(concert),
        _concert_form(concert, (first, _local(first.starts_at), {}), (last, _local(last.starts_at), {"DELETE": "on"})),
    )

    assert response.status_code == 302
    concert.refresh_from_db()
    assert concert.end_time == first.starts_at
    assert not ConcertDate.objects.filter(pk=last.pk).exists()


def test_the_concert_form_lists_its_dates_in_show_order(staff_client):
    concert = factories.ConcertFactory()
    base = _local(timezone.now() + datetime.timedelta(days=10))
    for offset in (2, 0, 3, 1):
        factories.ConcertDateFactory(concert=concert, starts_at=base + datetime.timedelta(days=offset))

    response = staff_client.get(_change_url(concert))

    forms = response.context["inline_admin_formsets"][0].formset.forms
    starts = [form.instance.starts_at for form in forms if not form.instance._state.adding]
    assert starts == sorted(starts) and len(starts) == 4
