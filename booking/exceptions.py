"""Refusals of booking: one exception per reason a hold, payment or cancellation is refused.

Each carries `message`, lazy text a fan can read in Korean or English, and `reason`, the same text in
English for the records (Payment.reason, logs). Views show `message` with a 4xx status.
"""

from django.utils import timezone, translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from wallet import exceptions as wallet_exceptions


def _seat_list(numbers):
    return ", ".join(str(n) for n in sorted(numbers))


class BookingError(Exception):
    default_message = _("That booking could not be made.")

    def __init__(self, message=None):
        self.message = message if message is not None else self.default_message
        with translation.override("en"):
            self.reason = str(self.message)[:200]
        super().__init__(self.reason)


class InvalidSeatSelection(BookingError):
    default_message = _("Choose one or more seats by their numbers.")

    @classmethod
    def out_of_range(cls, last):
        return cls(format_lazy(_("Seat numbers run from 1 to {last}."), last=last))

    @classmethod
    def repeated(cls):
        return cls(_("Choose each seat only once."))


class SeatLimitReached(BookingError):
    """The fan asked for `requested` seats but already has `already` of at most `limit` on the date."""

    def __init__(self, *, limit, already, requested):
        self.limit, self.already, self.requested = limit, already, requested
        room = max(limit - already, 0)
        if not already:
            message = _("You picked {requested} seats; you can book at most {limit} for one date.")
        elif room:
            message = _(
                "You picked {requested} seats but already have {already} for this date; "
                "at most {limit}, so you can pick {room} more."
            )
        else:
            message = _("You already have {already} seats for this date, the most one fan can book.")
        super().__init__(format_lazy(message, limit=limit, already=already, requested=requested, room=room))


class SeatTaken(BookingError):
    def __init__(self, *, seat_numbers):
        self.seat_numbers = sorted(seat_numbers)
        super().__init__(
            format_lazy(
                ngettext_lazy(
                    "Seat {seats} is no longer available. Please choose other seats.",
                    "Seats {seats} are no longer available. Please choose other seats.",
                    len(self.seat_numbers),
                ),
                seats=_seat_list(seat_numbers),
            )
        )


class SaleNotOpen(BookingError):
    default_message = _("Sales for this concert have not opened yet.")


class DateNotBookable(BookingError):
    default_message = _("This date has already taken place and can no longer be booked.")

    @classmethod
    def cancelled(cls):
        return cls(_("This date has been cancelled and can no longer be booked."))

    @classmethod
    def show_started(cls):
        return cls(_("This show has already started, so its seats can no longer be paid for. Nothing was charged."))


class HoldExpired(BookingError):
    def __init__(self, *, seat_numbers):
        self.seat_numbers = sorted(seat_numbers)
        super().__init__(
            format_lazy(
                ngettext_lazy(
                    "Your hold on seat {seats} has expired. Nothing was charged; please choose your seats again.",
                    "Your holds on seats {seats} have expired. Nothing was charged; please choose your seats again.",
                    len(self.seat_numbers),
                ),
                seats=_seat_list(seat_numbers),
            )
        )


class InsufficientBalance(BookingError, wallet_exceptions.InsufficientBalance):
    """Checkout refused for lack of balance: caught by `except BookingError` and `except WalletError` alike."""

    def __init__(self, *, needed, available):
        wallet_exceptions.InsufficientBalance.__init__(self, needed=needed, available=available)


class CheckoutChanged(BookingError):
    """The holds to pay are not the ones the checkout page showed (a hold from another window, or one that
    ended): nothing is charged, and the page is shown again with what there is to pay now."""

    default_message = _(
        "Your seats on hold changed after this page was shown (seats held in another window, or a hold that "
        "ended). Nothing was charged: check the seats below and pay again."
    )


class NothingToPay(BookingError):
    default_message = _("You have no seats on hold for this date.")


class InvalidPaymentRequest(BookingError):
    default_message = _("This checkout form is not valid any more. Please reload the page and try again.")


class CancellationClosed(BookingError):
    default_message = _("Cancellation closed before the show; this reservation can no longer be cancelled.")


class ReservationNotCancellable(BookingError):
    default_message = _("This reservation cannot be cancelled.")


# --- the door: refusals of a ticket at check-in (booking.checkins) ---------------------------------


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


class TicketRefused(BookingError):
    """The door refuses a ticket; `status` is the HTTP status the door page answers with."""

    status = 409
    default_message = _("This ticket cannot enter.")

    def __init__(self, message=None, *, reservation=None):
        self.reservation = reservation
        super().__init__(message)


class TicketCodeInvalid(TicketRefused):
    status = 400
    default_message = _("This is not a Frontrow ticket code. Scan it again or type it in full.")


class TicketNotValid(TicketRefused):
    """The code is ours, but its reservation is not a paid ticket any more (or never was)."""

    @classmethod
    def for_reservation(cls, reservation):
        if reservation.status == reservation.Status.CANCELLED and reservation.confirmed_at:
            message = format_lazy(
                _("This ticket was cancelled and refunded ({when}). It is not valid for entry."),
                when=_local(reservation.ended_at or reservation.confirmed_at),
            )
        else:
            message = _("This ticket was never paid. It is not valid for entry.")
        return cls(message, reservation=reservation)

    @classmethod
    def date_cancelled(cls, reservation):
        return cls(
            _("This date has been cancelled; its tickets are refunded and not valid for entry."),
            reservation=reservation,
        )


class TicketForAnotherDate(TicketRefused):
    def __init__(self, *, reservation):
        date = reservation.seat.concert_date
        super().__init__(
            format_lazy(
                _("This ticket is for {concert} on {date}, not for the date this door is checking."),
                concert=date.concert.title,
                date=date.concert_date.isoformat(),
            ),
            reservation=reservation,
        )


class TicketAlreadyCheckedIn(TicketRefused):
    """A second scan: `check_in` is the entry already recorded."""

    def __init__(self, *, check_in):
        self.check_in = check_in
        staff = check_in.checked_in_by
        super().__init__(
            format_lazy(
                _("Already used: this ticket entered at {when}, checked in by {staff}."),
                when=_local(check_in.checked_in_at),
                staff=(staff.name or staff.email) if staff else _("a staff account that no longer exists"),
            ),
            reservation=check_in.reservation,
        )
