"""Issue 19 items 13, 14 and 16 on the concert and date admin pages: a new date row and an add form show
nothing that does not exist yet; price tiers are shown read-only with their names once seats exist; no
date or concert with bookings is deleted (a message says why); confirming a cancellation opens its
progress."""

import datetime

import pytest
from django.urls import reverse

from concerts.models import Concert, ConcertDate, DateCancellation
from concerts.pricing import PriceTier
from tests.factories import ConcertDateFactory, ConcertFactory
from tests.support.browser import form_data
from tests.support.sales import holding_fan, paid_fan

pytestmark = pytest.mark.django_db

TIERS = [PriceTier("VIP", 1, 10, 165_000), PriceTier("R", 11, 30, 132_000), PriceTier("S", 31, 50, 99_000)]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def sold_date():
    date = ConcertDateFactory(tiers=TIERS)
    paid_fan(concert_date=date, seats=[1, 2])
    return date


def _change(model, obj):
    return reverse(f"admin:concerts_{model}_change", args=[obj.pk])


def _delete(model, obj):
    return reverse(f"admin:concerts_{model}_delete", args=[obj.pk])


# --- item 13 ------------------------------------------------------------------------------------------


def test_the_new_date_row_on_the_concert_page_shows_no_none(staff_client):
    date = ConcertDateFactory()
    page = staff_client.get(_change("concert", date.concert)).content.decode()
    assert ">None<" not in page
    assert "None None None" not in page


def test_the_concert_add_form_shows_no_field_that_only_a_saved_concert_has(staff_client):
    page = staff_client.get(reverse("admin:concerts_concert_add")).content.decode()
    assert "field-created_at" not in page
    assert "field-queue_controls" not in page
    assert "field-seats_available" not in page  # the new dates' seat counts: nothing to count yet
    assert ">None<" not in page


# --- item 14: price tiers -----------------------------------------------------------------------------


def test_the_date_page_shows_its_price_tiers_read_only_with_their_names(staff_client, sold_date):
    page = staff_client.get(_change("concertdate", sold_date)).content.decode()
    for line in ("VIP seats 1–10: ₩165,000", "R seats 11–30: ₩132,000", "S seats 31–50: ₩99,000"):
        assert line in page
    assert 'name="price_tiers"' not in page  # nothing that looks editable


def test_the_concert_page_shows_each_dates_tiers_read_only_and_a_new_row_to_type(staff_client, sold_date):
    page = staff_client.get(_change("concert", sold_date.concert)).content.decode()
    assert "VIP seats 1–10: ₩165,000" in page
    assert 'name="dates-0-price_tiers"' not in page
    assert '<textarea name="dates-1-price_tiers"' in page


def test_a_date_made_with_named_tiers_keeps_the_names_on_its_seats(staff_client):
    concert = ConcertFactory()
    response = staff_client.post(
        reverse("admin:concerts_concertdate_add"),
        {
            "concert": str(concert.pk),
            "starts_at_0": "2031-06-01",
            "starts_at_1": "19:00",
            "price_tiers": "VIP 1-5 200000\nR 6-50 80000",
        },
    )
    assert response.status_code == 302
    date = ConcertDate.objects.get(concert=concert)
    assert dict(date.seats.values_list("seat_number", "tier").filter(seat_number__in=[5, 6])) == {5: "VIP", 6: "R"}


def test_a_tier_name_longer_than_a_seat_can_keep_is_a_form_error(staff_client):
    concert = ConcertFactory()
    response = staff_client.post(
        reverse("admin:concerts_concertdate_add"),
        {
            "concert": str(concert.pk),
            "starts_at_0": "2031-06-01",
            "starts_at_1": "19:00",
            "price_tiers": f"{'V' * 21} 1-50 80000",
        },
    )
    assert response.status_code == 200
    assert "price_tiers" in response.context["adminform"].form.errors
    assert not ConcertDate.objects.filter(concert=concert).exists()


# --- item 14: deleting ----------------------------------------------------------------------------------


def test_a_date_with_paid_tickets_has_no_delete_button_and_is_not_deleted(staff_client, sold_date):
    page = staff_client.get(_change("concertdate", sold_date)).content.decode()
    assert _delete("concertdate", sold_date) not in page

    refused = staff_client.get(_delete("concertdate", sold_date), follow=True)
    assert refused.redirect_chain[-1][0] == _change("concertdate", sold_date)
    assert "Cancel the date instead" in refused.content.decode()
    staff_client.post(_delete("concertdate", sold_date), {"post": "yes"})
    bulk = staff_client.post(
        reverse("admin:concerts_concertdate_changelist"),
        {"action": "delete_selected", "_selected_action": [str(sold_date.pk)], "post": "yes"},
    )
    assert bulk.status_code == 200
    assert "Cancel the date instead" in bulk.content.decode()
    assert ConcertDate.objects.filter(pk=sold_date.pk).exists()


def test_a_date_with_a_live_hold_is_not_deleted_either(staff_client):
    date = ConcertDateFactory()
    holding_fan(concert_date=date, seats=[3])
    response = staff_client.post(_delete("concertdate", date), {"post": "yes"}, follow=True)
    assert "are holding 1 seat on this date" in response.content.decode()
    assert ConcertDate.objects.filter(pk=date.pk).exists()


def test_a_concert_with_paid_tickets_is_not_deleted(staff_client, sold_date):
    concert = sold_date.concert
    assert _delete("concert", concert) not in staff_client.get(_change("concert", concert)).content.decode()
    response = staff_client.post(_delete("concert", concert), {"post": "yes"}, follow=True)
    assert "Cancel its dates instead" in response.content.decode()
    assert Concert.objects.filter(pk=concert.pk).exists()


def test_deleting_a_sold_date_on_the_concert_page_is_a_form_error(staff_client, sold_date):
    url = _change("concert", sold_date.concert)
    data = form_data(staff_client.get(url), "concert_form")
    data["dates-0-DELETE"] = "on"
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert "Cancel the date instead" in response.content.decode()
    assert ConcertDate.objects.filter(pk=sold_date.pk).exists()


def test_a_date_without_bookings_can_still_be_deleted(staff_client):
    date = ConcertDateFactory()
    response = staff_client.post(_delete("concertdate", date), {"post": "yes"})
    assert response.status_code == 302
    assert not ConcertDate.objects.filter(pk=date.pk).exists()


# --- item 16 ------------------------------------------------------------------------------------------


def test_confirming_a_dates_cancellation_opens_its_progress_page(staff_client, sold_date):
    response = staff_client.post(
        reverse("admin:concerts_concertdate_changelist"),
        {"action": "cancel_dates", "_selected_action": [str(sold_date.pk)], "confirm": "yes", "reason": "storm"},
        follow=True,
    )
    cancellation = DateCancellation.objects.get(concert_date=sold_date)
    assert response.redirect_chain == [(reverse("admin:concerts_datecancellation_change", args=[cancellation.pk]), 302)]
    assert response.status_code == 200
    assert "is cancelled" in response.content.decode()


def test_cancelling_several_dates_opens_the_cancellations_list(staff_client):
    concert = ConcertFactory()
    dates = [ConcertDateFactory(concert=concert, concert_date=datetime.date(2031, 5, day)) for day in (1, 2)]
    response = staff_client.post(
        reverse("admin:concerts_concertdate_changelist"),
        {"action": "cancel_dates", "_selected_action": [str(d.pk) for d in dates], "confirm": "yes", "reason": "x"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:concerts_datecancellation_changelist")
    assert DateCancellation.objects.count() == 2
