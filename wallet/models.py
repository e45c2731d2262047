"""The won wallet's ledger: every top-up attempt (ChargeHistory) and every spend or refund (UsageHistory)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ChargeHistory(models.Model):
    class Status(models.TextChoices):
        SUCCESS = "SUCCESS", _("Success")
        FAILED = "FAILED", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="charges", verbose_name=_("user")
    )
    # A refused attempt may carry an amount that is not a positive 64-bit integer (or none at all);
    # a successful one never does.
    amount = models.BigIntegerField(_("amount (won)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    charged_at = models.DateTimeField(_("charged at"), default=timezone.now)
    # The client's Idempotency-Key of a top-up through the JSON API ("" for the page's): one success per key.
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, blank=True, default="")
    # Not a column: wallet.services.charge sets it on the row it returns (the balance right after the top-up).
    balance_after: int
    # Not a column either: True on the row charge returns for a key that had topped up already (nothing added).
    replayed: bool = False

    class Meta:
        verbose_name = _("top-up")
        verbose_name_plural = _("top-up history")
        ordering = ["-charged_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="SUCCESS", amount__isnull=False, amount__gt=0, reason="")
                | Q(status="FAILED") & ~Q(reason=""),
                name="charge_success_positive_failed_has_reason",
            ),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(status="SUCCESS") & ~Q(idempotency_key=""),
                name="charge_one_success_per_key",
            ),
        ]
        indexes = [models.Index(fields=["user", "charged_at"], name="charge_user_time_idx")]

    def __str__(self) -> str:
        return f"{self.user} +{self.amount}원 · {self.get_status_display()}"


class UsageHistory(models.Model):
    class ActionType(models.TextChoices):
        RESERVATION = "RESERVATION", _("Payment")
        CANCELLATION = "CANCELLATION", _("Refund")
        # The part of a paid reservation's price the fan's cancellation did not give back (booking's fee
        # schedule): a record beside the refund, not a change of the balance. Refund + fee == the payment.
        CANCELLATION_FEE = "CANCELLATION_FEE", _("Cancellation fee")
        OTHER = "OTHER", _("Other")

    class Status(models.TextChoices):
        SUCCESS = "SUCCESS", _("Success")
        FAILED = "FAILED", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="usages", verbose_name=_("user")
    )
    reservation = models.ForeignKey(
        "booking.Reservation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="usages",
        verbose_name=_("reservation"),
    )
    amount = models.PositiveIntegerField(_("amount (won)"))
    action_type = models.CharField(_("action"), max_length=16, choices=ActionType.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    used_at = models.DateTimeField(_("used at"), default=timezone.now)

    class Meta:
        verbose_name = _("spending record")
        verbose_name_plural = _("spending history")
        ordering = ["-used_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="usage_amount_positive"),
            # A reservation is paid at most once, refunded at most once and charged a cancellation fee at most once.
            models.UniqueConstraint(
                fields=["reservation", "action_type"],
                condition=Q(status="SUCCESS", reservation__isnull=False),
                name="usage_once_per_reservation_and_action",
            ),
        ]
        indexes = [models.Index(fields=["user", "used_at"], name="usage_user_time_idx")]

    def __str__(self) -> str:
        return f"{self.user} {self.get_action_type_display()} {self.amount}원 · {self.get_status_display()}"
