"""Reservations of seats (HOLD → CONFIRMED, or EXPIRED / CANCELLED), the payments for them, the
confirmation e-mail each successful checkout owes the fan, and the waiting lists of sold-out dates (취소표)
with the seats offered from them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Reservation(models.Model):
    class Status(models.TextChoices):
        HOLD = "HOLD", _("On hold")
        CONFIRMED = "CONFIRMED", _("Confirmed")
        EXPIRED = "EXPIRED", _("Expired")
        CANCELLED = "CANCELLED", _("Cancelled")

    class EndReason(models.TextChoices):
        """Why an EXPIRED or CANCELLED reservation ended: each keeps its own, whatever happens to the date later."""

        HOLD_EXPIRED = "HOLD_EXPIRED", _("Hold expired")
        FAN_CANCELLED = "FAN_CANCELLED", _("Cancelled by the fan")
        STAFF_REFUNDED = "STAFF_REFUNDED", _("Refunded by staff")
        STAFF_RELEASED = "STAFF_RELEASED", _("Hold released by staff")
        DATE_CANCELLED = "DATE_CANCELLED", _("Date cancelled by the organiser")
        OFFER_DECLINED = "OFFER_DECLINED", _("Waiting-list offer declined")
        FAN_RELEASED = "FAN_RELEASED", _("Hold released by the fan")

    LIVE_STATUSES = (Status.HOLD, Status.CONFIRMED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("user")
    )
    seat = models.ForeignKey(
        "concerts.Seat", on_delete=models.PROTECT, related_name="reservations", verbose_name=_("seat")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.HOLD)
    # The seat's price when it was held: what checkout charges and cancellation refunds.
    price = models.PositiveIntegerField(_("price (won)"))
    created_at = models.DateTimeField(_("reserved at"), default=timezone.now, editable=False)
    hold_expire_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("expired or cancelled at"), null=True, blank=True)
    # Set by booking.services when the reservation ends; blank while it is live.
    end_reason = models.CharField(_("why it ended"), max_length=16, choices=EndReason.choices, blank=True)
    # The fan-club presale it was held in (its quota counts the presale's live reservations); empty for the
    # general sale.
    presale = models.ForeignKey(
        "concerts.Presale",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reservations",
        verbose_name=_("presale"),
        db_index=False,  # reservation_presale_idx, only where set
    )
    # Not columns: booking.services.cancel sets them on the reservation it returns (won kept as the cancellation
    # fee, and given back). The ledger keeps both (wallet.UsageHistory CANCELLATION_FEE and CANCELLATION).
    fee_charged: int
    refunded: int

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["-created_at"]
        constraints = [
            # The last line of defence against selling a seat twice.
            models.UniqueConstraint(
                fields=["seat"], condition=Q(status__in=["HOLD", "CONFIRMED"]), name="reservation_one_live_per_seat"
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="reservation_price_positive"),
            models.CheckConstraint(
                condition=~Q(status="CONFIRMED") | Q(confirmed_at__isnull=False),
                name="reservation_confirmed_has_paid_at",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="reservation_user_status_idx"),
            # A presale's live reservations (its quota): only the rows held in a presale.
            models.Index(
                fields=["presale", "status"], condition=Q(presale__isnull=False), name="reservation_presale_idx"
            ),
            models.Index(fields=["hold_expire_at"], condition=Q(status="HOLD"), name="reservation_hold_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.seat} · {self.user} · {self.get_status_display()}"


class ConfirmationEmail(models.Model):
    """The confirmation e-mail one successful checkout owes the fan (an outbox row).

    Written in the payment's transaction, so a paid checkout always has one; its job is enqueued when the
    payment commits, and the beat sweep enqueues it again if that failed (booking.services.confirmations). The
    job sets sent_at under a row lock, so retries and the sweep never send it twice.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="confirmation_emails", verbose_name=_("user")
    )
    # The language the fan booked in: the e-mail is written in it.
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    created_at = models.DateTimeField(_("paid at"), default=timezone.now)
    enqueued_at = models.DateTimeField(_("last queued at"), null=True, blank=True)
    enqueue_count = models.PositiveSmallIntegerField(_("times queued"), default=0)
    # When it went out (or the job found every seat of it refunded already: nothing is owed any more).
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("confirmation e-mail")
        verbose_name_plural = _("confirmation e-mails")
        ordering = ["-created_at"]
        indexes = [
            # The sweep reads only the mails still owed: a handful, however many were ever sent.
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="confirmation_owed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.created_at:%Y-%m-%d %H:%M}"


class Payment(models.Model):
    class Status(models.TextChoices):
        SUCCESS = "SUCCESS", _("Success")
        FAILED = "FAILED", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments", verbose_name=_("user")
    )
    reservation = models.ForeignKey(
        Reservation, on_delete=models.PROTECT, related_name="payments", verbose_name=_("reservation")
    )
    amount = models.PositiveIntegerField(_("amount (won)"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    # The checkout form's key: a retry, double click or second tab with the same key pays once.
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, blank=True, db_index=True)
    paid_at = models.DateTimeField(_("paid at"), default=timezone.now)
    # The e-mail confirming the checkout this payment belongs to (successful payments only).
    confirmation = models.ForeignKey(
        ConfirmationEmail,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("confirmation e-mail"),
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["reservation"], condition=Q(status="SUCCESS"), name="payment_one_success_per_reservation"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="SUCCESS", reason="") | Q(status="FAILED") & ~Q(reason=""),
                name="payment_failed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount}원 · {self.get_status_display()}"


class CheckIn(models.Model):
    """A ticket let in at the door: at most one per reservation, written by booking.services.check_in_ticket.

    Records which ticket, when, at which door (the name the staff member's phone set on the door page, e.g.
    "Gate A") and by whom. The unique constraint is the guarantee: two doors scanning one ticket at once record
    one entry.
    """

    DOOR_MAX_LENGTH = 40

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reservation = models.ForeignKey(
        Reservation, on_delete=models.PROTECT, related_name="checkins", verbose_name=_("reservation")
    )
    checked_in_at = models.DateTimeField(_("checked in at"), default=timezone.now)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked in by"),
    )
    door = models.CharField(_("door"), max_length=DOOR_MAX_LENGTH, blank=True, default="")

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-checked_in_at"]
        constraints = [
            models.UniqueConstraint(fields=["reservation"], name="checkin_one_per_reservation"),
        ]

    def __str__(self) -> str:
        return f"{self.reservation.seat} · {self.checked_in_at:%Y-%m-%d %H:%M}"


class WaitlistEntry(models.Model):
    """A fan on the waiting list of a sold-out date (취소표 대기), written by booking.services.waitlist.

    WAITING until a returned seat is offered to the fan (OFFERED), then the offer's outcome ends it: BOOKED
    (paid), PASSED (the offer was declined or ran out: it went on to the next fan). LEFT: the fan left the list;
    CLOSED: the date was cancelled or started, or the fan had the most seats one fan may book when their turn
    came. The list's order is (joined_at, id). A fan has at most one live (WAITING or OFFERED) entry a date.
    """

    class Status(models.TextChoices):
        WAITING = "WAITING", _("Waiting")
        OFFERED = "OFFERED", _("Offered a seat")
        BOOKED = "BOOKED", _("Booked the offered seat")
        PASSED = "PASSED", _("Offer not used")
        LEFT = "LEFT", _("Left the list")
        CLOSED = "CLOSED", _("Closed")

    LIVE_STATUSES = (Status.WAITING, Status.OFFERED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waitlist_entries", verbose_name=_("user")
    )
    concert_date = models.ForeignKey(
        "concerts.ConcertDate",
        on_delete=models.CASCADE,
        related_name="waitlist_entries",
        verbose_name=_("concert date"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.WAITING)
    # The language the fan joined in: the offer e-mail is written in it.
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("waiting-list entry")
        verbose_name_plural = _("waiting-list entries")
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "concert_date"],
                condition=Q(status__in=["WAITING", "OFFERED"]),
                name="waitlist_entry_one_live_per_fan_date",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["WAITING", "OFFERED"], ended_at__isnull=True)
                | (~Q(status__in=["WAITING", "OFFERED"]) & Q(ended_at__isnull=False)),
                name="waitlist_entry_ended_has_time",
            ),
        ]
        indexes = [
            # The next fan of a date's list: the first WAITING entry in list order.
            models.Index(
                fields=["concert_date", "joined_at", "id"], condition=Q(status="WAITING"), name="waitlist_waiting_idx"
            ),
            models.Index(fields=["user", "status"], name="waitlist_entry_user_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.concert_date} · {self.user} · {self.get_status_display()}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES


class WaitlistOffer(models.Model):
    """A returned seat offered to the fan of a waiting-list entry: the seat is held for them (its HOLD
    `reservation`, expiring at `expires_at`), so nobody else can take it meanwhile and checkout pays it.

    OPEN when made, ACCEPTED once the fan followed the offer link; then its outcome: PAID, DECLINED (the fan
    let it go), EXPIRED (its time ran out: the seat goes on to the next fan) or WITHDRAWN (staff released the
    hold, or the date was cancelled). One offer per entry, and at most one open offer per seat.
    """

    class Status(models.TextChoices):
        OPEN = "OPEN", _("Open")
        ACCEPTED = "ACCEPTED", _("Accepted")
        PAID = "PAID", _("Paid")
        DECLINED = "DECLINED", _("Declined")
        EXPIRED = "EXPIRED", _("Expired")
        WITHDRAWN = "WITHDRAWN", _("Withdrawn")

    OPEN_STATUSES = (Status.OPEN, Status.ACCEPTED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    entry = models.ForeignKey(
        WaitlistEntry, on_delete=models.CASCADE, related_name="offers", verbose_name=_("waiting-list entry")
    )
    seat = models.ForeignKey(
        "concerts.Seat", on_delete=models.PROTECT, related_name="waitlist_offers", verbose_name=_("seat")
    )
    reservation = models.ForeignKey(
        Reservation, on_delete=models.PROTECT, related_name="waitlist_offers", verbose_name=_("reservation")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    offered_at = models.DateTimeField(_("offered at"), default=timezone.now)
    expires_at = models.DateTimeField(_("offer expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    # When the offer e-mail went out; empty while it is owed (booking.services.waitlist.send_offer_emails).
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("waiting-list offer")
        verbose_name_plural = _("waiting-list offers")
        ordering = ["-offered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["seat"], condition=Q(status__in=["OPEN", "ACCEPTED"]), name="waitlist_offer_one_open_per_seat"
            ),
            models.UniqueConstraint(fields=["entry"], name="waitlist_offer_one_per_entry"),
            models.UniqueConstraint(fields=["reservation"], name="waitlist_offer_one_per_reservation"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("offered_at")), name="waitlist_offer_expires_after_offered"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["OPEN", "ACCEPTED"], ended_at__isnull=True)
                | (~Q(status__in=["OPEN", "ACCEPTED"]) & Q(ended_at__isnull=False)),
                name="waitlist_offer_ended_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="ACCEPTED") | Q(accepted_at__isnull=False),
                name="waitlist_offer_accepted_has_time",
            ),
        ]
        indexes = [
            # The offer e-mails still owed: a handful, however many offers were ever made.
            models.Index(
                fields=["offered_at"],
                condition=Q(emailed_at__isnull=True, status__in=["OPEN", "ACCEPTED"]),
                name="waitlist_offer_owed_mail_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seat} · {self.get_status_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
