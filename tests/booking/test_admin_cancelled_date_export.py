"""After a date is cancelled staff need its export most: every reservation with what became of it
(refunded with the amount and time, hold released), requested from the date page or the cancellation's
progress page, with a message saying so."""

import csv
import io

import pytest
from django.urls import reverse

from booking import services as booking_services
from concerts.models import DateExport
from tests.factories import ConcertDateFactory
from tests.support.sales import holding_fan, paid_fan

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:concerts_concertdate_changelist"


@pytest.fixture(autouse=True)
def in_english(staff_client, settings):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def cancelled_date(staff, django_capture_on_commit_callbacks):
    date = ConcertDateFactory()
    paid_fan(concert_date=date, seats=[1, 2])
    holding_fan(concert_date=date, seats=[7])
    with django_capture_on_commit_callbacks(execute=True):
        booking_services.cancel_concert_date(concert_date=date, by=staff, reason="storm")
    return date


def export_rows(client, export):
    response = client.get(reverse("admin:concerts_dateexport_download", args=[export.pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_a_cancelled_date_exports_every_reservation_with_its_refund(
    staff_client, cancelled_date, django_capture_on_commit_callbacks
):
    page = staff_client.get(reverse("admin:concerts_concertdate_change", args=[cancelled_date.pk]))
    assert 'value="export_csv"' in page.content.decode()  # the date page still offers the export

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse(CHANGELIST),
            {"action": "export_csv", "_selected_action": [str(cancelled_date.pk)], "index": "0"},
            follow=True,
        )

    messages = [str(message) for message in response.context["messages"]]
    assert messages and "export" in messages[0].lower()
    export = DateExport.objects.get(concert_date=cancelled_date)
    assert export.status == DateExport.Status.READY and export.rows == 3
    rows = export_rows(staff_client, export)
    by_seat = {int(row["seat_number"]): row for row in rows}
    assert set(by_seat) == {1, 2, 7}
    for seat in (1, 2):
        row = by_seat[seat]
        assert row["ticket_status"] == "refunded"
        assert int(row["refund_amount"]) == int(row["price"]) > 0
        assert row["refunded_at"]
        assert row["date_status"] == "CANCELLED"
    assert by_seat[7]["ticket_status"] == "released"
    assert by_seat[7]["refund_amount"] == "" and by_seat[7]["payment_status"] == ""


def test_the_cancellation_progress_page_offers_the_export(staff_client, cancelled_date):
    cancellation = cancelled_date.cancellation
    page = staff_client.get(reverse("admin:concerts_datecancellation_change", args=[cancellation.pk]))

    content = page.content.decode()
    assert page.status_code == 200
    assert 'value="export_csv"' in content and str(cancelled_date.pk) in content


def test_an_export_while_refunds_still_run_says_the_file_is_a_snapshot(staff, staff_client):
    date = ConcertDateFactory()
    paid_fan(concert_date=date, seats=[4])
    booking_services.mark_date_cancelled(concert_date=date, by=staff, reason="storm")  # no refund job has run yet

    response = staff_client.post(
        reverse(CHANGELIST), {"action": "export_csv", "_selected_action": [str(date.pk)], "index": "0"}, follow=True
    )

    messages = " ".join(str(message) for message in response.context["messages"])
    assert "still" in messages.lower()
    export = DateExport.objects.get(concert_date=date)
    booking_services.write_export(export=export)
    (row,) = export_rows(staff_client, export)
    assert row["ticket_status"] == "paid" and row["date_status"] == "CANCELLED"
