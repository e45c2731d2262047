"""Reservations of seats (HOLD → CONFIRMED, or EXPIRED / CANCELLED) and the payments for them."""

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
            models.Index(fields=["hold_expire_at"], condition=Q(status="HOLD"), name="reservation_hold_expiry_idx"),
        ]

    def __str__(self):
        return f"{self.seat} · {self.user} · {self.status}"


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

    def __str__(self):
        return f"{self.amount}원 · {self.status}"


class CheckIn(models.Model):
    """A ticket let in at the door: at most one per reservation, written by booking.checkins.check_in_ticket.

    The unique constraint is the guarantee: two doors scanning one ticket at once record one entry.
    """

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

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-checked_in_at"]
        constraints = [
            models.UniqueConstraint(fields=["reservation"], name="checkin_one_per_reservation"),
        ]

    def __str__(self):
        return f"{self.reservation.seat} · {self.checked_in_at:%Y-%m-%d %H:%M}"
