"""Issue 6's admin: the sales dashboard, the per-date seat map, cancelling a date (confirmation, then a
refund job), CSV exports and their download, reservation actions, the ticket check and the RQ
dashboard — for staff only, every action checked in the database afterwards."""

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.models import Reservation
from concerts.models import ConcertDate, DateCancellation, DateExport, Seat
from tests.factories import ConcertDateFactory, UserFactory
from tests.support.sales import holding_fan, paid_fan
from wallet.models import UsageHistory

pytestmark = pytest.mark.django_db

DASHBOARD = "admin:concerts_salesdashboard_changelist"


@pytest.fixture
def sold_date():
    """A date with 3 seats sold (2 VIP at 165,000, 1 S at 99,000), one live hold and one expired hold."""
    from concerts.pricing import PriceTier

    tiers = [PriceTier("VIP", 1, 10, 165_000), PriceTier("R", 11, 30, 132_000), PriceTier("S", 31, 50, 99_000)]
    date = ConcertDateFactory(tiers=tiers)
    first, _ = paid_fan(concert_date=date, seats=[1, 2])
    second, _ = paid_fan(concert_date=date, seats=[40])
    holder, _ = holding_fan(concert_date=date, seats=[20])
    stale, _ = holding_fan(concert_date=date, seats=[21])
    Seat.objects.filter(concert_date=date, seat_number=21).update(
        hold_expire_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    return date


@pytest.mark.parametrize(
    "url",
    [
        reverse(DASHBOARD),
        reverse("admin:concerts_ticket_check"),
        reverse("booking:door"),
        reverse("admin:concerts_datecancellation_changelist"),
        reverse("admin:concerts_dateexport_changelist"),
        reverse("django_rq:home"),
    ],
)
def test_staff_pages_are_refused_to_fans_and_visitors(fan_client, url):
    assert Client().get(url).status_code == 302  # a visitor who is not logged in
    response = fan_client.get(url)
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/login/" in response["Location"]


def test_staff_without_permissions_cannot_see_the_dashboard(client):
    clerk = UserFactory(is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse(DASHBOARD)).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_concertdate"))
    assert client.get(reverse(DASHBOARD)).status_code == 200


def test_admin_index_links_to_the_operations_pages(staff_client):
    content = staff_client.get(reverse("admin:index")).content.decode()
    for name in (DASHBOARD, "booking:door", "django_rq:home"):
        assert reverse(name) in content
    assert staff_client.get(reverse("django_rq:home")).status_code == 200


def test_dashboard_figures_and_chart(staff_client, sold_date):
    response = staff_client.get(reverse(DASHBOARD))
    assert response.status_code == 200
    totals = response.context["dashboard"].totals
    assert (totals.sold, totals.held, totals.free) == (3, 1, 46)
    assert (totals.gross, totals.refunded, totals.net) == (2 * 165_000 + 99_000, 0, 429_000)
    group = response.context["dashboard"].concerts[0]
    assert group.concert == sold_date.concert and group.net == 429_000
    today = response.context["dashboard"].series[-1]
    assert today.day == timezone.localdate() and today.tickets == 3 and today.amount == 429_000
    content = response.content.decode()
    assert "<svg" in content and "결제 3건, 429,000원" in content
    # Filtered to one concert (and a junk filter is ignored rather than an error).
    other = ConcertDateFactory()
    one = staff_client.get(reverse(DASHBOARD), {"concert": str(other.concert.pk)})
    assert one.context["dashboard"].totals.sold == 0
    assert staff_client.get(reverse(DASHBOARD), {"concert": "not-a-uuid"}).status_code == 200


def test_date_page_shows_the_seat_map_counts_and_revenue(staff_client, sold_date):
    response = staff_client.get(reverse("admin:concerts_concertdate_change", args=[sold_date.pk]))
    assert response.status_code == 200
    seats = {seat.seat_number: seat for seat in response.context["seat_map"]}
    assert len(seats) == 50
    assert seats[1].status_now == "RESERVED" and seats[1].buyer_email
    assert seats[20].status_now == "HELD" and seats[20].holder is not None
    assert seats[21].status_now == "AVAILABLE" and seats[21].holder is None  # the expired hold
    content = response.content.decode()
    assert 'data-seat="1" data-status="RESERVED"' in content
    assert 'data-seat="20" data-status="HELD"' in content
    assert 'data-seat="21" data-status="AVAILABLE"' in content
    assert "429,000원" in content


def test_cancelling_a_date_asks_first_then_refunds_everything(
    staff_client, staff, sold_date, django_capture_on_commit_callbacks
):
    url = reverse("admin:concerts_concertdate_changelist")
    ask = staff_client.post(url, {"action": "cancel_dates", "_selected_action": [str(sold_date.pk)]})
    assert ask.status_code == 200
    assert "429,000원" in ask.content.decode()
    sold_date.refresh_from_db()
    assert sold_date.status == ConcertDate.Status.SCHEDULED  # nothing happened yet

    with django_capture_on_commit_callbacks(execute=True):
        done = staff_client.post(
            url,
            {"action": "cancel_dates", "_selected_action": [str(sold_date.pk)], "confirm": "yes", "reason": "storm"},
        )
    assert done.status_code == 302
    sold_date.refresh_from_db()
    assert sold_date.status == ConcertDate.Status.CANCELLED
    cancellation = DateCancellation.objects.get(concert_date=sold_date)
    assert cancellation.requested_by == staff and cancellation.reason == "storm" and cancellation.finished_at
    live = Reservation.objects.filter(seat__concert_date=sold_date, status__in=Reservation.LIVE_STATUSES)
    assert not live.exists()
    refunds = UsageHistory.objects.filter(reservation__seat__concert_date=sold_date, action_type="CANCELLATION")
    assert refunds.count() == 3 and sum(r.amount for r in refunds) == 429_000

    progress = staff_client.get(reverse("admin:concerts_datecancellation_changelist"))
    # 5 live reservations when cancelled: 3 paid, the live hold and the expired one the sweep had not reached.
    assert progress.status_code == 200 and "5 / 5" in progress.content.decode()


def test_fans_cannot_post_admin_actions(fan_client, sold_date):
    response = fan_client.post(
        reverse("admin:concerts_concertdate_changelist"),
        {"action": "cancel_dates", "_selected_action": [str(sold_date.pk)], "confirm": "yes", "reason": "x"},
    )
    assert response.status_code == 302
    sold_date.refresh_from_db()
    assert sold_date.status == ConcertDate.Status.SCHEDULED


def test_csv_export_is_written_by_the_job_and_downloaded_by_staff_only(
    staff_client, sold_date, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:concerts_concertdate_changelist"),
            {"action": "export_csv", "_selected_action": [str(sold_date.pk)], "index": "0"},
        )
    assert response.status_code == 302
    export = DateExport.objects.get(concert_date=sold_date)
    assert export.status == DateExport.Status.READY and export.rows == 5  # 3 paid + 2 holds never paid

    download_url = reverse("admin:concerts_dateexport_download", args=[export.pk])
    download = staff_client.get(download_url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5
    paid = [row for row in rows if row["payment_status"] == "SUCCESS"]
    assert sorted(int(row["seat_number"]) for row in paid) == [1, 2, 40]
    assert sum(int(row["payment_amount"]) for row in paid) == 429_000

    listing = staff_client.get(reverse("admin:concerts_dateexport_changelist"))
    assert download_url in listing.content.decode()

    fan_client = Client()
    fan_client.force_login(UserFactory())
    assert fan_client.get(download_url).status_code == 302


def test_export_cells_cannot_run_as_spreadsheet_formulas(staff_client, django_capture_on_commit_callbacks):
    date = ConcertDateFactory()
    paid_fan(concert_date=date, seats=[5], user=UserFactory(name='=HYPERLINK("http://evil")'))
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse("admin:concerts_concertdate_changelist"),
            {"action": "export_csv", "_selected_action": [str(date.pk)], "index": "0"},
        )
    export = DateExport.objects.get(concert_date=date)
    download = staff_client.get(reverse("admin:concerts_dateexport_download", args=[export.pk]))
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_release_hold_action(staff_client, staff):
    date = ConcertDateFactory()
    _user, holds = holding_fan(concert_date=date, seats=[3])
    response = staff_client.post(
        reverse("admin:booking_reservation_changelist"),
        {"action": "release_holds", "_selected_action": [str(holds[0].pk)], "index": "0"},
    )
    assert response.status_code == 302
    hold = Reservation.objects.get(pk=holds[0].pk)
    assert hold.status == Reservation.Status.CANCELLED
    seat = Seat.objects.get(pk=hold.seat_id)
    assert seat.status == Seat.Status.AVAILABLE and seat.held_by is None
    assert seat.history.order_by("-changed_at").first().changed_by == staff


def test_refund_action_asks_first_then_refunds_paid_and_leaves_holds(staff_client):
    date = ConcertDateFactory()
    fan, result = paid_fan(concert_date=date, seats=[8])
    _holder, holds = holding_fan(concert_date=date, seats=[9])
    paid = result.reservations[0]
    url = reverse("admin:booking_reservation_changelist")
    selected = [str(paid.pk), str(holds[0].pk)]
    ask = staff_client.post(url, {"action": "refund_and_cancel", "_selected_action": selected, "index": "0"})
    assert ask.status_code == 200 and Reservation.objects.get(pk=paid.pk).status == Reservation.Status.CONFIRMED

    done = staff_client.post(
        url, {"action": "refund_and_cancel", "_selected_action": selected, "confirm": "yes", "reason": "goodwill"}
    )
    assert done.status_code == 302
    assert Reservation.objects.get(pk=paid.pk).status == Reservation.Status.CANCELLED
    assert Reservation.objects.get(pk=holds[0].pk).status == Reservation.Status.HOLD  # not paid: refused, unchanged
    balance_before = fan.balance
    fan.refresh_from_db()
    assert fan.balance == balance_before + paid.price
    assert UsageHistory.objects.filter(reservation=paid, action_type="CANCELLATION").count() == 1
