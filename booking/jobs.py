"""django-rq jobs people trigger: the booking confirmation e-mail, the bulk refund of a cancelled date, the
CSV export of a date, and the offers of seats returned to a sold-out date's waiting list. Each is a thin wrapper
over booking.services and safe to run again (RQ retries failed jobs; an operator may requeue one from the RQ dashboard).

Queued with config.jobs.enqueue (without Redis, the embedded default, it runs the job at once, in the caller).
"""

import uuid
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone

from concerts.models import ConcertDate, DateCancellation, DateExport
from config.jobs import RETRY, enqueue

from . import services
from .models import Reservation

__all__ = [
    "RETRY",
    "enqueue",
    "export_date_csv",
    "offer_returned_seats",
    "refund_cancelled_date",
    "send_booking_confirmation",
]


def send_booking_confirmation(
    *, confirmation_id: uuid.UUID | str | None = None, reservation_ids: Iterable[uuid.UUID | str] | None = None
) -> int:
    """One e-mail per checkout, in the fan's language: every paid seat with its e-ticket code and QR code.

    Sends the owed ConfirmationEmail at most once (booking.services.confirmations.send_owed): a retry, the sweep or
    a second worker finds it sent and returns 0. Raises on a mail error, so RQ retries. `reservation_ids`
    is what jobs queued before the outbox existed carry: those are sent as then, in the default language.
    """
    if confirmation_id is not None:
        return services.confirmations.send_owed(confirmation_id=confirmation_id)
    reservations = list(
        Reservation.objects.filter(pk__in=reservation_ids or (), status=Reservation.Status.CONFIRMED)
        .select_related("user", "seat__concert_date__concert")
        .order_by("seat__seat_number")
    )
    if not reservations:
        return 0
    services.confirmations.render(
        user=reservations[0].user, reservations=reservations, language=settings.LANGUAGE_CODE
    ).send()
    return 1


def refund_cancelled_date(*, cancellation_id: uuid.UUID | str) -> int:
    """End every live reservation of a cancelled date (refunding the paid ones); safe to run twice."""
    cancellation = DateCancellation.objects.select_related("concert_date").get(pk=cancellation_id)
    try:
        return services.end_reservations_of_cancelled_date(cancellation=cancellation, by=cancellation.requested_by)
    except Exception as exc:
        DateCancellation.objects.filter(pk=cancellation.pk).update(last_error=f"{exc.__class__.__name__}: {exc}")
        raise


def export_date_csv(*, export_id: uuid.UUID | str) -> int | None:
    """Write the CSV of a DateExport; on failure mark it FAILED with the error and raise (RQ retries)."""
    export = DateExport.objects.select_related("concert_date").get(pk=export_id)
    try:
        return services.write_export(export=export).rows
    except Exception as exc:
        DateExport.objects.filter(pk=export.pk).update(
            status=DateExport.Status.FAILED, error=f"{exc.__class__.__name__}: {exc}", finished_at=timezone.now()
        )
        raise


def offer_returned_seats(*, concert_date_id: uuid.UUID | str) -> int:
    """Offer the date's returned seats to its waiting list, then send the offer e-mails; return the offers made.

    Queued when a seat of a date with a waiting list comes back (booking.services.waitlist.seats_returned). Safe
    to run twice or on two workers at once: offers are made under the date's waiting-list lock, each mail once.
    """
    concert_date = ConcertDate.objects.select_related("concert").filter(pk=concert_date_id).first()
    if concert_date is None:  # deleted since
        return 0
    made = services.waitlist.make_offers(concert_date=concert_date)
    services.waitlist.send_offer_emails(concert_date_id=concert_date.pk)
    return len(made)
