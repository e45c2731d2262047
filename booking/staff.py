"""Staff workflows over many reservations: cancelling a whole concert date (every live reservation
ended, every paid one refunded) and the CSV export of a date's reservations and payments.

Each reservation is still changed by booking.services (release_hold / refund_and_cancel, both
idempotent), so the lock order and the ledger rules stay in one place; this module only loops.
"""

import csv
import io
import logging
from collections import Counter

from django.db import transaction
from django.db.models import Count, F, Prefetch, Sum
from django.utils import timezone

from concerts import services as concert_services
from concerts.models import DateCancellation, DateExport
from wallet.models import UsageHistory

from . import services
from .exceptions import ReservationNotCancellable
from .models import CheckIn, Payment, Reservation

logger = logging.getLogger(__name__)

REFUND_BATCH_SIZE = 200
DATE_CANCELLED = Reservation.EndReason.DATE_CANCELLED


def cancel_concert_date(*, concert_date, by=None, reason, now=None, enqueue=True):
    """Cancel the date (no more sales) and start refunding it: returns its DateCancellation.

    Idempotent: cancelling a cancelled date returns the same record. With enqueue, the refund job
    (booking.jobs.refund_cancelled_date) is queued once the cancellation has committed; each new call
    queues it again, which is safe (the job finishes what is left and stops).
    """
    cancellation, _created = concert_services.cancel_date(concert_date=concert_date, by=by, reason=reason, now=now)
    if enqueue:
        from . import jobs

        # robust: if Redis is down the date stays cancelled and the record shows "waiting for a worker";
        # cancelling again from the admin list, or `manage.py cancel_date`, finishes the refunds.
        transaction.on_commit(
            lambda: jobs.enqueue(jobs.refund_cancelled_date, cancellation_id=str(cancellation.pk)), robust=True
        )
    return cancellation


def live_reservations(concert_date):
    return Reservation.objects.filter(seat__concert_date=concert_date, status__in=Reservation.LIVE_STATUSES)


def cancellation_progress(cancellation):
    """(done, total, remaining): `remaining` live reservations are still to be ended on the date."""
    remaining = live_reservations(cancellation.concert_date_id).count()
    total = max(cancellation.total, remaining)
    return total - remaining, total, remaining


def end_reservations_of_cancelled_date(*, cancellation, by=None, batch_size=REFUND_BATCH_SIZE, progress=None):
    """End every live reservation of a cancelled date: holds released, paid ones refunded. Idempotent.

    Safe to run twice, at once on two workers, or again after a crash: refund_and_cancel refunds a
    reservation exactly once (under its seat lock) and returns an already-cancelled one unchanged. Loops
    until no live reservation is left, so a hold or payment that slipped in while the date was being
    cancelled is ended too. `progress(done, total)` is called after each reservation. Returns how many
    reservations this run ended.
    """
    DateCancellation.objects.filter(pk=cancellation.pk).update(runs=F("runs") + 1)
    DateCancellation.objects.filter(pk=cancellation.pk, started_at__isnull=True).update(started_at=timezone.now())
    date = cancellation.concert_date
    reason = f"date cancelled: {cancellation.reason}"[:200]
    ended, failures, stuck = 0, Counter(), set()
    while True:
        batch = list(live_reservations(date).exclude(pk__in=stuck).order_by("pk")[:batch_size])
        if not batch:
            break
        for reservation in batch:
            try:
                if reservation.status == Reservation.Status.HOLD:
                    result = services.release_hold(
                        reservation=reservation, by=by, reason=reason, end_reason=DATE_CANCELLED
                    )
                else:
                    result = services.refund_and_cancel(
                        reservation=reservation, by=by, reason=reason, end_reason=DATE_CANCELLED
                    )
            except ReservationNotCancellable:
                # It changed under us (a hold was paid a moment ago): the next pass reads it again.
                failures[reservation.pk] += 1
                if failures[reservation.pk] >= 3:
                    stuck.add(reservation.pk)
                continue
            if result.status == Reservation.Status.CANCELLED:
                ended += 1
            if progress:
                done, total, _remaining = cancellation_progress(cancellation)
                progress(done, total)
    if stuck:
        raise RuntimeError(f"{len(stuck)} reservations could not be ended; run the refund again.")
    DateCancellation.objects.filter(pk=cancellation.pk).update(finished_at=timezone.now(), last_error="")
    return ended


# --- CSV export ---------------------------------------------------------------------------------

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


def _cell(value):
    """Text a spreadsheet will not run as a formula (a fan's name may start with "=")."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def ticket_status(reservation):
    """What became of a reservation, in one word for the export: on hold, hold expired, released (ended
    before payment), paid, checked in, or refunded. Reads the prefetched `refunds` and `entries`."""
    if reservation.status == Reservation.Status.HOLD:
        return "on hold"
    if reservation.status == Reservation.Status.EXPIRED:
        return "hold expired"
    if reservation.status == Reservation.Status.CANCELLED:
        return "refunded" if reservation.refunds else "released"
    return "checked in" if reservation.entries else "paid"


def export_rows(concert_date):
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


def request_export(*, concert_date, by=None):
    """Record an export request and queue the job that writes it; returns the DateExport (PENDING)."""
    from . import jobs

    export = DateExport.objects.create(concert_date=concert_date, requested_by=by)
    transaction.on_commit(lambda: jobs.enqueue(jobs.export_date_csv, export_id=str(export.pk)), robust=True)
    return export


def write_export(*, export):
    """Write the CSV of export.concert_date into the export's row and mark it READY. Idempotent.

    The CSV lives in the database (DateExport.content), so the web instance that serves the download
    need not be the host that ran this job. A second run replaces the first run's CSV.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    rows = 0
    for row in export_rows(export.concert_date):
        writer.writerow(row)
        rows += 1
    date = export.concert_date
    export.filename = f"frontrow-{date.concert_date:%Y%m%d}-{str(date.pk)[:8]}.csv"
    export.content = buffer.getvalue()
    export.rows, export.status, export.finished_at, export.error = rows, DateExport.Status.READY, timezone.now(), ""
    export.save(update_fields=["filename", "content", "rows", "status", "finished_at", "error"])
    return export


def export_bytes(export) -> bytes:
    """The download: the CSV in UTF-8 with a BOM, so spreadsheet programs read Korean names correctly."""
    return ("\ufeff" + export.content).encode("utf-8")


def live_reservations_summary(concert_dates):
    """{date id: {"held": n, "paid": n, "paid_amount": won}} for the dates' live reservations; one query."""
    rows = (
        Reservation.objects.filter(seat__concert_date__in=concert_dates, status__in=Reservation.LIVE_STATUSES)
        .values("seat__concert_date", "status")
        .annotate(count=Count("id"), amount=Sum("price"))
        .order_by()
    )
    summary = {date.pk: {"held": 0, "paid": 0, "paid_amount": 0} for date in concert_dates}
    for row in rows:
        entry = summary[row["seat__concert_date"]]
        if row["status"] == Reservation.Status.HOLD:
            entry["held"] = row["count"]
        else:
            entry["paid"], entry["paid_amount"] = row["count"], row["amount"]
    return summary
