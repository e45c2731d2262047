"""The fan's e-tickets as My tickets and the printable ticket page show them: a paid seat's signed code and its QR
code, or VOID once it was refunded (or its date cancelled), and when the door let it in.

A ticket exists for every reservation that was paid (it has confirmed_at): CONFIRMED, or CANCELLED after its
payment. A hold, an expired hold or a hold staff released was never a ticket. The door
(booking.services.checkins) decides again, under its lock, whether a code may enter; this only shows it.
"""

import datetime
import uuid
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.safestring import SafeString

from accounts.models import User

from .. import tickets
from ..models import CheckIn, Reservation


@dataclass(frozen=True)
class ETicket:
    """One paid seat's e-ticket. A void ticket carries no code and no QR code: nothing on it could enter."""

    reservation: Reservation  # seat, date and concert joined
    void: bool  # refunded, or paid on a date the organiser cancelled (its refund on the way)
    code: str  # the signed code (booking.tickets.ticket_code); "" when void
    qr_svg: SafeString  # the code as an inline <svg> (booking.tickets.ticket_qr_inline_svg); "" when void
    checked_in_at: datetime.datetime | None  # when the door let it in; None if it has not been used

    @property
    def used(self) -> bool:
        """Let in at the door (and not void since): a second scan would be refused."""
        return self.checked_in_at is not None and not self.void

    @property
    def date_cancelled(self) -> bool:
        """Void because the organiser cancelled the show (rather than a refund the fan or staff made)."""
        reservation = self.reservation
        live = reservation.status == Reservation.Status.CONFIRMED
        return self.void and (
            reservation.end_reason == Reservation.EndReason.DATE_CANCELLED
            or (live and reservation.seat.concert_date.is_cancelled)
        )


def with_check_in_time(reservations: QuerySet[Reservation]) -> QuerySet[Reservation]:
    """The queryset with `checked_in_at` on each reservation (None until the door lets it in), read in the same
    query: a check-in is at most one row per reservation (checkin_one_per_reservation)."""
    first_check_in = CheckIn.objects.filter(reservation=OuterRef("pk")).values("checked_in_at")[:1]
    return reservations.annotate(checked_in_at=Subquery(first_check_in))


def e_ticket(reservation: Reservation) -> ETicket | None:
    """The e-ticket of this reservation (seat, date and concert joined; `checked_in_at` annotated by
    with_check_in_time, else taken as unused), or None if it was never paid. Signs and draws the code of a
    ticket that is not void (about a millisecond); no query.
    """
    if reservation.confirmed_at is None or reservation.status not in (
        Reservation.Status.CONFIRMED,
        Reservation.Status.CANCELLED,
    ):
        return None
    void = reservation.status == Reservation.Status.CANCELLED or reservation.seat.concert_date.is_cancelled
    checked_in_at: datetime.datetime | None = getattr(reservation, "checked_in_at", None)
    if void:
        return ETicket(reservation=reservation, void=True, code="", qr_svg=SafeString(""), checked_in_at=checked_in_at)
    code = tickets.ticket_code(reservation)
    return ETicket(
        reservation=reservation,
        void=False,
        code=code,
        qr_svg=tickets.ticket_qr_inline_svg(code),
        checked_in_at=checked_in_at,
    )


def ticket_for(*, user: User, reservation_id: uuid.UUID) -> ETicket | None:
    """The fan's own e-ticket of this reservation, or None when it is not theirs or was never paid: the
    printable ticket page answers 404 to both alike, so nobody learns whether another fan's reservation exists.
    One query.
    """
    reservation = (
        with_check_in_time(Reservation.objects.filter(pk=reservation_id, user_id=user.pk))
        .select_related("seat__concert_date__concert")
        .first()
    )
    return None if reservation is None else e_ticket(reservation)
