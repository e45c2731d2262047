"""The CSV export of a date (written by booking.services.exports): its columns and rows, one per payment
attempt, each saying what became of its reservation; the download's bytes and a date's recent exports.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Prefetch

from concerts.models import ConcertDate, DateExport
from wallet.models import UsageHistory

from ..models import CheckIn, Payment, Reservation


class ExportPrefetches(TypedDict):
    """What export_rows prefetches onto each reservation."""

    refunds: list[UsageHistory]
    entries: list[CheckIn]


if TYPE_CHECKING:  # WithAnnotations takes its arguments only in annotations (Python 3.11)
    from django_stubs_ext import WithAnnotations

    ExportReservation = WithAnnotations[Reservation, ExportPrefetches]


def recent_exports(*, concert_date: ConcertDate, limit: int = 5) -> list[DateExport]:
    """The date's latest CSV exports, newest first, without their files."""
    return list(DateExport.objects.filter(concert_date=concert_date).defer("content")[:limit])


EXPORT_COLUMNS = [
    "reservation_id",
    "reservation_status",
    "ticket_status",
    "date_status",
    "seat_number",
    "price",
    "fan_email",
    "fan_name",
    "reserved_at",
    "paid_at",
    "ended_at",
    "refund_amount",
    "refunded_at",
    "checked_in_at",
    "checked_in_by",
    "payment_id",
    "payment_status",
    "payment_amount",
    "payment_reason",
    "payment_at",
]


def _cell(value: object) -> str:
    """Text a spreadsheet will not run as a formula (a fan's name may start with "=")."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def ticket_status(reservation: "ExportReservation") -> str:
    """What became of a reservation, in one word for the export: on hold, hold expired, released (ended
    before payment), paid, checked in, or refunded. Reads the prefetched `refunds` and `entries`."""
    if reservation.status == Reservation.Status.HOLD:
        return "on hold"
    if reservation.status == Reservation.Status.EXPIRED:
        return "hold expired"
    if reservation.status == Reservation.Status.CANCELLED:
        return "refunded" if reservation.refunds else "released"
    return "checked in" if reservation.entries else "paid"


def export_rows(concert_date: ConcertDate) -> Iterator[list[str]]:
    """One row per payment attempt of the date, plus one per reservation that never reached payment.

    Each row says what became of its reservation (ticket_status; refunded ones with the amount and
    time), so the export of a cancelled date is the record of its refunds.
    """
    reservations = (
        Reservation.objects.filter(seat__concert_date=concert_date)
        .select_related("seat__concert_date", "user")
        .prefetch_related(
            Prefetch("payments", queryset=Payment.objects.order_by("paid_at")),
            Prefetch(
                "usages",
                queryset=UsageHistory.objects.filter(
                    action_type=UsageHistory.ActionType.CANCELLATION, status=UsageHistory.Status.SUCCESS
                ),
                to_attr="refunds",
            ),
            Prefetch("checkins", queryset=CheckIn.objects.select_related("checked_in_by"), to_attr="entries"),
        )
        .order_by("seat__seat_number", "created_at")
    )
    for reservation in reservations.iterator(chunk_size=500):
        refund = reservation.refunds[0] if reservation.refunds else None
        entry = reservation.entries[0] if reservation.entries else None
        base = [
            reservation.pk,
            reservation.status,
            ticket_status(reservation),
            reservation.seat.concert_date.status,
            reservation.seat.seat_number,
            reservation.price,
            reservation.user.email,
            reservation.user.name,
            reservation.created_at,
            reservation.confirmed_at,
            reservation.ended_at,
            refund.amount if refund else None,
            refund.used_at if refund else None,
            entry.checked_in_at if entry else None,
            entry.checked_in_by.email if entry and entry.checked_in_by else None,
        ]
        payments = list(reservation.payments.all())
        if not payments:
            yield [_cell(v) for v in base] + [""] * 5
        for payment in payments:
            extra = [payment.pk, payment.status, payment.amount, payment.reason, payment.paid_at]
            yield [_cell(v) for v in base + extra]


def export_bytes(export: DateExport) -> bytes:
    """The download: the CSV in UTF-8 with a BOM, so spreadsheet programs read Korean names correctly."""
    return ("\ufeff" + export.content).encode("utf-8")
