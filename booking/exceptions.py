"""Refusals of booking: one exception per reason a hold, payment, cancellation or door check-in is refused.

Each is a config.refusals.Refusal: `message` for the fan, `reason` in English for the records (Payment.reason,
logs), the HTTP `status` (409 unless the class says otherwise) and a stable `code`.
"""

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, Self

from django.utils import formats, timezone
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django_stubs_ext import StrOrPromise

from concerts.pricing import won
from config.refusals import Refusal, RefusalCode
from wallet import exceptions as wallet_exceptions

if TYPE_CHECKING:
    from .models import CheckIn, Reservation


_won = lazy(won, str)  # in the language the message is read in (a fan's, or English for the records)


def _seat_list(numbers: Iterable[int]) -> str:
    return ", ".join(str(n) for n in sorted(numbers))


class BookingError(Refusal):
    """Base of every booking refusal: by default the seats or reservation are not in a state that allows it."""

    status = 409
    default_message = _("That booking could not be made.")


class InvalidSeatSelection(BookingError):
    status = 400
    code = RefusalCode.INVALID_SEAT_SELECTION
    default_message = _("Choose one or more seats by their numbers.")

    @classmethod
    def out_of_range(cls, last: int) -> Self:
        return cls(format_lazy(_("Seat numbers run from 1 to {last}."), last=last))

    @classmethod
    def repeated(cls) -> Self:
        return cls(_("Choose each seat only once."))

    @classmethod
    def pick_count(cls, most: int) -> Self:
        return cls(format_lazy(_("Ask for 1 to {most} seats side by side."), most=most))

    @classmethod
    def no_such_price(cls) -> Self:
        return cls(_("No seat of this date has that price. Choose one of the prices listed."))


class SeatLimitReached(BookingError):
    """The fan asked for `requested` seats but already has `already` of at most `limit` on the date."""

    code = RefusalCode.SEAT_LIMIT_REACHED

    def __init__(self, *, limit: int, already: int, requested: int) -> None:
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
    code = RefusalCode.SEAT_TAKEN

    def __init__(self, *, seat_numbers: Iterable[int]) -> None:
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


class NoSeatsTogether(BookingError):
    """The seat picker ("Pick the best seats for me") found no `count` free seats side by side (at `price`, when
    given)."""

    code = RefusalCode.NO_SEATS_TOGETHER

    def __init__(self, *, count: int, price: int | None = None) -> None:
        self.count, self.price = count, price
        if price is None:
            message = (
                _("No seat is free any more. Nothing was held.")
                if count == 1
                else _(
                    "No {count} free seats are side by side any more. Nothing was held: ask for fewer seats, or "
                    "choose seats on the map."
                )
            )
        else:
            message = (
                _("No seat at {price} is free any more. Nothing was held: try another price.")
                if count == 1
                else _(
                    "No {count} free seats at {price} are side by side any more. Nothing was held: ask for fewer "
                    "seats or another price, or choose seats on the map."
                )
            )
        super().__init__(format_lazy(message, count=count, price=_won(price)))


class SaleNotOpen(BookingError):
    status = 403
    code = RefusalCode.SALE_NOT_OPEN
    default_message = _("Sales for this concert have not opened yet.")

    @classmethod
    def presale_only(cls, opens_at: datetime.datetime) -> Self:
        """A fan-club presale is on and this fan is not on its list: when the general sale opens."""
        when = lazy(lambda: formats.date_format(timezone.localtime(opens_at), "DATETIME_FORMAT"), str)()
        return cls(
            format_lazy(_("Only the fan-club presale is open now. The general sale opens at {when}."), when=when)
        )


class PresaleQuotaReached(BookingError):
    """A hold in a fan-club presale that would take more seats than the presale's quota has left."""

    code = RefusalCode.PRESALE_QUOTA_REACHED
    default_message = _("This presale's seats are all taken. Please wait for the general sale.")

    def __init__(self, *, left: int | None = None) -> None:
        if left:
            super().__init__(
                format_lazy(
                    ngettext_lazy(
                        "This presale has only {left} seat left. Choose fewer seats.",
                        "This presale has only {left} seats left. Choose fewer seats.",
                        left,
                    ),
                    left=left,
                )
            )
        else:
            super().__init__()


class DateNotBookable(BookingError):
    code = RefusalCode.DATE_NOT_BOOKABLE
    default_message = _("This date has already taken place and can no longer be booked.")

    @classmethod
    def cancelled(cls) -> Self:
        return cls(_("This date has been cancelled and can no longer be booked."))

    @classmethod
    def show_started(cls) -> Self:
        return cls(_("This show has already started, so its seats can no longer be paid for. Nothing was charged."))


class HoldExpired(BookingError):
    code = RefusalCode.HOLD_EXPIRED

    def __init__(self, *, seat_numbers: Iterable[int]) -> None:
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


class InsufficientBalanceToPay(wallet_exceptions.InsufficientBalance, BookingError):
    """Checkout refused for lack of balance: the wallet's InsufficientBalance that `except BookingError`
    catches too. The wallet's class comes first, so its message, status and code are the ones this carries.
    """


class CheckoutChanged(BookingError):
    """The holds to pay are not the ones the checkout page showed (a hold from another window, or one that
    ended): nothing is charged, and the page is shown again with what there is to pay now."""

    code = RefusalCode.CHECKOUT_CHANGED
    default_message = _(
        "Your seats on hold changed after this page was shown (seats held in another window, or a hold that "
        "ended). Nothing was charged: check the seats below and pay again."
    )


class NothingToPay(BookingError):
    code = RefusalCode.NOTHING_TO_PAY
    default_message = _("You have no seats on hold for this date.")


class InvalidPaymentRequest(BookingError):
    status = 400
    code = RefusalCode.INVALID_PAYMENT_REQUEST
    default_message = _("This checkout form is not valid any more. Please reload the page and try again.")


class CancellationClosed(BookingError):
    code = RefusalCode.CANCELLATION_CLOSED
    default_message = _("Cancellation closed before the show; this reservation can no longer be cancelled.")


class CancellationOnShowDay(BookingError):
    """The fan would cancel on the show's own day (Asia/Seoul): Korean ticketing never allows it."""

    code = RefusalCode.CANCELLATION_ON_SHOW_DAY
    default_message = _("Tickets cannot be cancelled on the day of the show.")


class CancellationFeeChanged(BookingError):
    """The cancellation fee now is higher than the one the fan confirmed (a day passed, or staff changed the
    schedule, since the cancel page was shown): nothing is cancelled, the page shows the new amounts."""

    code = RefusalCode.CANCELLATION_FEE_CHANGED

    def __init__(self, *, accepted: int, fee: int, refund: int) -> None:
        self.accepted, self.fee, self.refund = accepted, fee, refund
        super().__init__(
            format_lazy(
                _(
                    "The cancellation fee changed after this page was shown: it is now {fee}, so the refund is "
                    "{refund}. Nothing was cancelled; check the amounts below and confirm again."
                ),
                fee=_won(fee),
                refund=_won(refund),
            )
        )


class TicketUsed(BookingError):
    """The fan would cancel a ticket the door has already let in (a CheckIn): the seat was used, so no refund."""

    code = RefusalCode.TICKET_USED
    default_message = _("This ticket was used at the door, so it can no longer be cancelled.")


class ReservationNotCancellable(BookingError):
    code = RefusalCode.RESERVATION_NOT_CANCELLABLE
    default_message = _("This reservation cannot be cancelled.")


class DateCancelledByOrganiser(BookingError):
    """The fan would cancel a ticket of a date staff cancelled: the date's refund job ends it (refunded, for
    the date's reason), so the fan's own cancellation is refused."""

    code = RefusalCode.DATE_CANCELLED
    default_message = _(
        "The organiser cancelled this date: your ticket is refunded in full to your wallet automatically, so there "
        "is nothing to cancel."
    )


# --- the fan releasing one of their holds (booking.services.release_own_hold) --------------------------


class HoldNotFound(BookingError):
    """The fan would release a reservation that is not theirs: answered as if there were none, so it tells nothing
    (the pages and the API look the fan's own up first, and answer their usual 404)."""

    status = 404
    code = RefusalCode.HOLD_NOT_FOUND
    default_message = _("You have no such seat on hold.")


class HoldAlreadyPaid(BookingError):
    """The fan would release a seat they paid for: it is a booking, not a hold, and only cancelling ends it (with
    its refund and fee)."""

    code = RefusalCode.HOLD_ALREADY_PAID
    default_message = _(
        "This seat is already paid for, so it is no longer a hold to release. To give it up, cancel it on My tickets."
    )


# --- the waiting list of a sold-out date (booking.services.waitlist) ----------------------------------


class WaitlistNotNeeded(BookingError):
    """The fan would join the waiting list of a date that still has seats to choose from."""

    code = RefusalCode.WAITLIST_NOT_NEEDED
    default_message = _("This date still has seats available: choose them on the seat map instead.")


class SeatsKeptForWaitlist(BookingError):
    """A hold of a date whose waiting list has fans waiting: the seats that come back on it (a cancellation, a hold
    run out, a staff release) are offered to them first, in list order, so nobody else may hold one meanwhile."""

    code = RefusalCode.SEATS_KEPT_FOR_WAITLIST
    default_message = _(
        "Seats that come back on this date go to the fans on its waiting list first. "
        "Join the waiting list to be offered one."
    )


class OfferLinkInvalid(BookingError):
    """An offer link we did not sign, an altered one, or one of another fan's offer."""

    status = 404
    code = RefusalCode.OFFER_LINK_INVALID
    default_message = _("This offer link is not valid. Open the link from your e-mail while logged in.")


class OfferExpired(BookingError):
    """The offer ended (ran out, declined, paid or withdrawn): its seat is no longer held for the fan."""

    status = 410
    code = RefusalCode.OFFER_EXPIRED
    default_message = _(
        "This offer has ended: the seat is no longer held for you and has passed to the next fan on the waiting list."
    )


# --- the door: refusals of a ticket at check-in (booking.services.checkins) ------------------------


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


class TicketRefused(BookingError):
    """The door refuses a ticket; `status` is the HTTP status the door page answers with."""

    default_message = _("This ticket cannot enter.")

    def __init__(self, message: StrOrPromise | None = None, *, reservation: "Reservation | None" = None) -> None:
        self.reservation = reservation
        super().__init__(message)


class TicketCodeInvalid(TicketRefused):
    status = 400
    code = RefusalCode.TICKET_CODE_INVALID
    default_message = _("This is not a Frontrow ticket code. Scan it again or type it in full.")


class TicketNotValid(TicketRefused):
    """The code is ours, but its reservation is not a paid ticket any more (or never was)."""

    code = RefusalCode.TICKET_NOT_VALID

    @classmethod
    def for_reservation(cls, reservation: "Reservation") -> Self:
        if reservation.status == reservation.Status.CANCELLED and reservation.confirmed_at:
            message = format_lazy(
                _("This ticket was cancelled and refunded ({when}). It is not valid for entry."),
                when=_local(reservation.ended_at or reservation.confirmed_at),
            )
        else:
            message = _("This ticket was never paid. It is not valid for entry.")
        return cls(message, reservation=reservation)

    @classmethod
    def date_cancelled(cls, reservation: "Reservation") -> Self:
        return cls(
            _("This date has been cancelled; its tickets are refunded and not valid for entry."),
            reservation=reservation,
        )


class TicketForAnotherDate(TicketRefused):
    code = RefusalCode.TICKET_FOR_ANOTHER_DATE

    def __init__(self, *, reservation: "Reservation") -> None:
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

    code = RefusalCode.TICKET_ALREADY_CHECKED_IN

    def __init__(self, *, check_in: "CheckIn") -> None:
        self.check_in = check_in
        staff = check_in.checked_in_by
        who = (staff.name or staff.email) if staff else _("a staff account that no longer exists")
        when = _local(check_in.checked_in_at)
        if check_in.door:
            message = format_lazy(
                _("Already used: this ticket entered at {when} through {door}, checked in by {staff}."),
                when=when,
                door=check_in.door,
                staff=who,
            )
        else:  # entries recorded before doors had names
            message = format_lazy(
                _("Already used: this ticket entered at {when}, checked in by {staff}."), when=when, staff=who
            )
        super().__init__(message, reservation=check_in.reservation)
