"""The admin screens of issue 2: staff can use them, fans cannot, dates are created with their seats,
seat counts per date are right (an expired hold counts as free) and cost a bounded number of queries."""

import datetime

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from concerts.models import Concert, ConcertDate, Seat, SeatStatusHistory
from tests.factories import (
    ChargeHistoryFactory,
    ConcertDateFactory,
    ConcertFactory,
    PaymentFactory,
    SeatStatusHistoryFactory,
    UsageHistoryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MODELS = ["accounts.user", "concerts.concert", "concerts.concertdate", "concerts.seat", "concerts.seatstatushistory"]
MODELS += ["booking.reservation", "booking.payment", "wallet.chargehistory", "wallet.usagehistory"]
READ_ONLY = [
    "concerts.seat",
    "concerts.seatstatushistory",
    "booking.reservation",
    "booking.payment",
    "wallet.chargehistory",
    "wallet.usagehistory",
]


def _url(model, view="changelist", *args):
    app, name = model.split(".")
    return reverse(f"admin:{app}_{name}_{view}", args=args)


@pytest.fixture
def some_rows():
    date = ConcertDateFactory()
    SeatStatusHistoryFactory(seat=date.seats.first())
    PaymentFactory()
    ChargeHistoryFactory()
    UsageHistoryFactory()
    return date


@pytest.mark.parametrize("model", MODELS)
def test_staff_sees_every_changelist_and_search(staff_client, some_rows, model):
    assert staff_client.get(_url(model)).status_code == 200
    assert staff_client.get(_url(model), {"q": "fan"}).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_fans_are_sent_to_the_login_page(fan_client, model):
    response = fan_client.get(_url(model))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("model", READ_ONLY)
def test_history_tables_are_read_only(staff_client, staff, rf, model):
    model_admin = next(ma for m, ma in admin.site._registry.items() if m._meta.label_lower == model)
    request = rf.get("/")
    request.user = staff
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)
    assert staff_client.get(_url(model, "add")).status_code == 403


def _concert_post(**dates):
    data = {
        "title": "Aurora",
        "description": "",
        "venue": "KSPO Dome",
        "sale_opens_at_0": "2030-04-01",
        "sale_opens_at_1": "20:00",
        "dates-TOTAL_FORMS": str(len(dates)),
        "dates-INITIAL_FORMS": "0",
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
    for index, (day, tiers) in enumerate(dates.items()):
        data[f"dates-{index}-starts_at_0"] = day
        data[f"dates-{index}-starts_at_1"] = "19:00"
        data[f"dates-{index}-price_tiers"] = tiers
    return data


def test_concert_and_its_dates_in_one_form_create_priced_seats(staff_client, staff):
    response = staff_client.post(
        _url("concerts.concert", "add"),
        _concert_post(
            **{
                "2030-05-01": "VIP 1-10 165,000원\r\nR 11-30 132000\r\nS 31-50 99000",
                "2030-05-02": "",
            }
        ),
    )
    assert response.status_code == 302, response.context["adminform"].errors if response.context else response
    concert = Concert.objects.get(title="Aurora")
    first, second = concert.dates.order_by("concert_date")
    prices = dict(first.seats.values_list("seat_number", "price"))
    assert len(prices) == 50
    assert (prices[1], prices[10], prices[11], prices[30], prices[31], prices[50]) == (
        165_000,
        165_000,
        132_000,
        132_000,
        99_000,
        99_000,
    )
    assert set(second.seats.values_list("price", flat=True)) == {99_000}  # DEFAULT_SEAT_PRICE
    history = SeatStatusHistory.objects.filter(seat__concert_date__concert=concert)
    assert history.count() == 100
    assert set(history.values_list("changed_by", flat=True)) == {staff.pk}


@pytest.mark.parametrize(
    "tiers",
    ["VIP 1-10 165000", "VIP 1-10 165000\nS 10-50 99000", "VIP 1-50 0", "cheap seats", "1-50 99999999999"],
)
def test_bad_tiers_are_a_form_error_and_create_nothing(staff_client, tiers):
    response = staff_client.post(_url("concerts.concert", "add"), _concert_post(**{"2030-05-01": tiers}))
    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.errors[0]["price_tiers"]
    assert not Concert.objects.exists()
    assert not Seat.objects.exists()


def test_adding_a_date_to_an_existing_concert_inline(staff_client):
    date = ConcertDateFactory()
    concert = date.concert
    start = timezone.localtime(date.starts_at)
    data = {
        "title": concert.title,
        "description": concert.description,
        "venue": concert.venue,
        # as the page shows it: the sale has opened, so its opening no longer moves
        "sale_opens_at_0": timezone.localtime(concert.sale_opens_at).date().isoformat(),
        "sale_opens_at_1": timezone.localtime(concert.sale_opens_at).strftime("%H:%M:%S"),
        "dates-TOTAL_FORMS": "2",
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
        "dates-1-concert": str(concert.pk),
        "dates-1-starts_at_0": (start.date() + datetime.timedelta(days=1)).isoformat(),
        "dates-1-starts_at_1": "14:00",
        "dates-1-price_tiers": "A 1-25 50000\r\nB 26-50 40000",
    }
    response = staff_client.post(_url("concerts.concert", "change", concert.pk), data)
    assert response.status_code == 302
    new = concert.dates.exclude(pk=date.pk).get()
    assert new.seats.count() == 50
    assert sorted(set(new.seats.values_list("price", flat=True))) == [40_000, 50_000]
    assert date.seats.count() == 50  # the existing date is untouched


def test_standalone_date_add_creates_its_seats_and_redirects_to_the_real_row(staff_client):
    concert = ConcertFactory()
    response = staff_client.post(
        _url("concerts.concertdate", "add"),
        {
            "concert": str(concert.pk),
            "starts_at_0": "2030-06-01",
            "starts_at_1": "19:00",
            "price_tiers": "VIP 1-5 200000\n6-50 80000",
        },
    )
    assert response.status_code == 302
    date = ConcertDate.objects.get(concert=concert)
    assert date.seats.count() == 50
    assert date.seats.get(seat_number=5).price == 200_000
    assert date.seats.get(seat_number=6).price == 80_000
    # The change page of the created date opens (the admin's redirect and log entry point at it).
    assert staff_client.get(_url("concerts.concertdate", "change", date.pk)).status_code == 200


def test_duplicate_date_is_a_form_error(staff_client):
    date = ConcertDateFactory()
    response = staff_client.post(
        _url("concerts.concertdate", "add"),
        {
            "concert": str(date.concert.pk),
            "starts_at_0": date.concert_date.isoformat(),
            "starts_at_1": "08:00",  # another show the same day
            "price_tiers": "",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert ConcertDate.objects.count() == 1


def _queries_for(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_seat_counts_per_date_treat_expired_holds_as_free(staff_client):
    now = timezone.now()
    fan = UserFactory()
    date = ConcertDateFactory()
    seats = date.seats.order_by("seat_number")
    Seat.objects.filter(pk=seats[0].pk).update(
        status=Seat.Status.HELD, held_by=fan, hold_expire_at=now + datetime.timedelta(minutes=5)
    )
    Seat.objects.filter(pk=seats[1].pk).update(
        status=Seat.Status.HELD, held_by=fan, hold_expire_at=now - datetime.timedelta(minutes=5)
    )
    Seat.objects.filter(pk__in=[seats[2].pk, seats[3].pk]).update(status=Seat.Status.RESERVED)

    response = staff_client.get(_url("concerts.concertdate"))
    row = next(r for r in response.context["cl"].result_list if r.pk == date.pk)
    assert (row.seats_available, row.seats_held, row.seats_reserved) == (47, 1, 2)

    detail = staff_client.get(_url("concerts.concert", "change", date.concert.pk))
    inline_date = detail.context["inline_admin_formsets"][0].formset.forms[0].instance
    assert (inline_date.seats_available, inline_date.seats_held, inline_date.seats_reserved) == (47, 1, 2)


@pytest.mark.parametrize(
    "url", [lambda c: _url("concerts.concertdate"), lambda c: _url("concerts.concert", "change", c.pk)]
)
def test_date_pages_do_not_query_per_date(staff_client, url):
    concert = ConcertFactory()
    for day in range(2):
        ConcertDateFactory(concert=concert, concert_date=datetime.date(2030, 1, 1 + day))
    few = _queries_for(staff_client, url(concert))
    for day in range(2, 8):
        ConcertDateFactory(concert=concert, concert_date=datetime.date(2030, 1, 1 + day))
    assert _queries_for(staff_client, url(concert)) == few
    assert few <= 12


def test_user_admin_adds_an_email_user_and_keeps_balance_read_only(staff_client):
    response = staff_client.post(
        _url("accounts.user", "add"),
        {
            "email": "New.Fan@Example.com",
            "name": "New Fan",
            "usable_password": "true",
            "password1": "a-long-passphrase-42",
            "password2": "a-long-passphrase-42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.fan@example.com")
    assert user.check_password("a-long-passphrase-42")

    change = staff_client.get(_url("accounts.user", "change", user.pk))
    assert change.status_code == 200
    assert "balance" not in change.context["adminform"].form.fields
    staff_client.post(
        _url("accounts.user", "change", user.pk),
        {"email": user.email, "name": "Renamed", "is_active": "on", "balance": "999999"},
    )
    user.refresh_from_db()
    assert user.name == "Renamed"
    assert user.balance == 0


def test_user_admin_refuses_an_email_that_differs_only_in_case(staff_client):
    UserFactory(email="taken@example.com")
    response = staff_client.post(
        _url("accounts.user", "add"),
        {
            "email": "TAKEN@example.com",
            "name": "Twin",
            "usable_password": "true",
            "password1": "a-long-passphrase-42",
            "password2": "a-long-passphrase-42",
        },
    )
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
