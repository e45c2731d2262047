"""The one base of every refusal (booking, wallet, waiting room) and the list of their stable codes.

A refusal carries `message`, lazy text a fan reads in the language active where it is shown; `reason`, the
same text in English for the records (Payment.reason, ChargeHistory.reason, logs); `status`, the HTTP status
a page answers it with; and `code`, what a program reads. Views take the status from the exception instead
of keeping their own table.
"""

from enum import StrEnum
from typing import ClassVar

from django.utils import translation
from django_stubs_ext import StrOrPromise


class RefusalCode(StrEnum):
    """Every refusal's stable code, one per exception class (tests/config/test_refusals.py checks both ways).

    These are the public error codes: the JSON API returns them, so a code is never renamed or reused
    for another refusal once released; a new refusal gets a new code.
    """

    # booking: holding seats
    INVALID_SEAT_SELECTION = "invalid_seat_selection"
    SEAT_LIMIT_REACHED = "seat_limit_reached"
    SEAT_TAKEN = "seat_taken"
    SALE_NOT_OPEN = "sale_not_open"
    DATE_NOT_BOOKABLE = "date_not_bookable"
    NO_SEATS_TOGETHER = "no_seats_together"
    PRESALE_QUOTA_REACHED = "presale_quota_reached"
    # booking: paying
    HOLD_EXPIRED = "hold_expired"
    CHECKOUT_CHANGED = "checkout_changed"
    NOTHING_TO_PAY = "nothing_to_pay"
    INVALID_PAYMENT_REQUEST = "invalid_payment_request"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    # booking: cancelling
    CANCELLATION_CLOSED = "cancellation_closed"
    RESERVATION_NOT_CANCELLABLE = "reservation_not_cancellable"
    DATE_CANCELLED = "date_cancelled"
    TICKET_USED = "ticket_used"
    CANCELLATION_ON_SHOW_DAY = "cancellation_on_show_day"
    CANCELLATION_FEE_CHANGED = "cancellation_fee_changed"
    # booking: the fan releasing a hold
    HOLD_NOT_FOUND = "hold_not_found"
    HOLD_ALREADY_PAID = "hold_already_paid"
    # booking: the waiting list of a sold-out date
    WAITLIST_NOT_NEEDED = "waitlist_not_needed"
    SEATS_KEPT_FOR_WAITLIST = "seats_kept_for_waitlist"
    OFFER_LINK_INVALID = "offer_link_invalid"
    OFFER_EXPIRED = "offer_expired"
    # booking: the door
    TICKET_CODE_INVALID = "ticket_code_invalid"
    TICKET_NOT_VALID = "ticket_not_valid"
    TICKET_FOR_ANOTHER_DATE = "ticket_for_another_date"
    TICKET_ALREADY_CHECKED_IN = "ticket_already_checked_in"
    # wallet
    INVALID_AMOUNT = "invalid_amount"
    CHARGE_REFUSED = "charge_refused"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    # waiting room
    QUEUE_NOT_OPEN = "queue_not_open"
    QUEUE_CLOSED = "queue_closed"
    QUEUE_UNAVAILABLE = "queue_unavailable"
    QUEUE_ADDRESS_LIMIT = "queue_address_limit"
    QUEUE_PRESALE_ONLY = "queue_presale_only"
    NOT_ADMITTED = "not_admitted"
    # every fan page that counts requests (config.ratelimit)
    RATE_LIMITED = "rate_limited"
    # the waiting room's entry challenge (queueing.services.challenges)
    CHALLENGE_FAILED = "challenge_failed"
    # accounts: e-mail verification (accounts.tokens, accounts.services)
    VERIFICATION_LINK_INVALID = "verification_link_invalid"
    VERIFICATION_LINK_EXPIRED = "verification_link_expired"
    VERIFICATION_LINK_USED = "verification_link_used"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    EMAIL_ADDRESS_TAKEN = "email_address_taken"
    # concerts: fan-club presales (concerts.services, concerts.selectors)
    PRESALE_CODE_INVALID = "presale_code_invalid"
    PRESALE_CLOSED = "presale_closed"
    # accounts: the JSON API's personal access tokens (accounts.services)
    NOT_AUTHENTICATED = "not_authenticated"
    TOKEN_INVALID = "token_invalid"
    TOKEN_SCOPE_INSUFFICIENT = "token_scope_insufficient"
    TOKEN_LIMIT_REACHED = "token_limit_reached"
    # the JSON API itself (api.exceptions)
    INVALID_REQUEST = "invalid_request"
    NOT_FOUND = "not_found"
    CSRF_FAILED = "csrf_failed"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    # accounts: staff two-factor (accounts.two_factor)
    SECOND_FACTOR_REQUIRED = "second_factor_required"
    SECOND_FACTOR_INVALID = "second_factor_invalid"


class Refusal(Exception):
    """Base of every refusal. Not raised itself: each app has its base (BookingError, WalletError,
    QueueError) giving the default message and status, and each concrete refusal sets its `code`.

    `status` is the HTTP status a page answers with: 400 a malformed request, 402 a short balance, 403 not
    allowed yet, 409 a state that does not allow it, 429 too many requests, 503 a service that cannot be
    reached.
    """

    default_message: ClassVar[StrOrPromise]
    status: ClassVar[int] = 400
    code: ClassVar[RefusalCode]

    def __init__(self, message: StrOrPromise | None = None) -> None:
        self.message: StrOrPromise = message if message is not None else self.default_message
        # English whatever language the request is in; short enough for the records' reason columns.
        with translation.override("en"):
            self.reason = str(self.message)[:200]
        super().__init__(self.reason)
