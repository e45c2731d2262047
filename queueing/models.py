"""The waiting room's database state: one token per fan and concert, and the history of every visit.

The database backend keeps the queue itself in QueueToken; the Redis backend keeps it in sorted sets
and mirrors nothing here but QueueEntryHistory (see queueing/backends/).
"""

import secrets
import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.service_fields import ServiceFieldsMixin

from .draw import commitment


def default_max_active() -> int:
    return settings.QUEUE_DEFAULT_MAX_ACTIVE


def default_admit_per_minute() -> int:
    return settings.QUEUE_ADMIT_PER_MINUTE


# The easiest entry challenge a room may set (constraint waiting_room_challenge_max_number_min says it too):
# below it the puzzle is hardly any work.
CHALLENGE_MIN_NUMBER = 1000


def default_challenge_enabled() -> bool:
    return settings.QUEUE_CHALLENGE_DEFAULT


def default_challenge_max_number() -> int:
    return settings.ALTCHA_MAX_NUMBER


def new_draw_seed() -> str:
    """32 random bytes, hex: the secret the pre-queue draw is keyed with (see queueing.draw)."""
    return secrets.token_hex(32)


class WaitingRoom(ServiceFieldsMixin, models.Model):
    """Per-concert queue settings staff control in the admin, plus the counters the queue needs.

    The counters move only in queueing's services and backends (under this row's lock); a plain save()
    writes the staff settings alone (config.service_fields).
    """

    service_fields = (
        "next_position",
        "served_position",
        "admitted_total",
        "admission_log",
        "last_admission_at",
        "draw_seed",
        "draw_commitment",
        "drawn_at",
        "draw_size",
        "prequeue_arrivals",
        "serving_presale",
    )

    concert = models.OneToOneField(
        "concerts.Concert", on_delete=models.CASCADE, primary_key=True, related_name="waiting_room"
    )
    max_active = models.PositiveIntegerField(_("max admitted at once"), default=default_max_active)
    is_paused = models.BooleanField(_("admission paused"), default=False)
    # The admission rate (queueing.services.pacing): admitted fans book at once, so letting max_active of them in
    # at one moment queues their bookings on the web servers; admission is paced instead.
    admit_per_minute = models.PositiveIntegerField(
        _("fans admitted per minute"),
        default=default_admit_per_minute,
        validators=[MinValueValidator(1)],
        help_text=_(
            "At most this many waiting fans are let in per minute, a few seconds' worth at a time, so a sale's "
            "opening does not send every admitted fan to the seat maps in the same second. Set it to what the "
            "site can book per minute."
        ),
    )
    last_admission_at = models.DateTimeField(_("last admission run"), null=True, blank=True)
    # Database backend only: the last place handed out, and the highest place admitted so far. Admission is
    # first-in first-out, so a waiting fan's distance to the front is their place minus served_position,
    # without counting the rows ahead of them.
    next_position = models.BigIntegerField(_("last place handed out"), default=0, editable=False)
    served_position = models.BigIntegerField(_("highest place admitted"), default=0, editable=False)
    admitted_total = models.BigIntegerField(_("fans admitted so far"), default=0, editable=False)
    # Recent admission runs as [epoch seconds, fans admitted], pruned to a few minutes: the estimated
    # wait is computed from it (both backends; written under this row's lock).
    admission_log = models.JSONField(_("recent admissions"), default=list, blank=True, editable=False)
    # The pre-queue draw (queueing.draw): a secret seed chosen when the room is made, its SHA-256 published
    # from the pre-queue's opening, the seed itself published once the draw has run (drawn_at).
    draw_seed = models.CharField(_("draw seed"), max_length=64, default=new_draw_seed, editable=False)
    # Left out of the concert page's shared cache (concerts.page_cache): the seed is secret until the draw.
    SHARED_CACHE_EXCLUDED: ClassVar[tuple[str, ...]] = ("draw_seed",)
    draw_commitment = models.CharField(
        _("draw commitment (SHA-256 of the seed)"), max_length=64, default="", editable=False
    )
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True, editable=False)
    draw_size = models.PositiveIntegerField(_("fans drawn"), default=0, editable=False)
    # Database backend only: the last pre-queue arrival number handed out (a receipt is made from it).
    prequeue_arrivals = models.BigIntegerField(_("pre-queue arrivals"), default=0, editable=False)
    # The sale the room serves now (queueing.services.sales): a fan-club presale's id, or empty for the general sale.
    # The room serves a concert's sales in turn; when the sale changes, its places end, its draw is kept as a
    # SaleDraw and a new seed is chosen. No foreign key: the record outlives a presale staff delete.
    serving_presale = models.UUIDField(_("presale served"), null=True, blank=True, editable=False)
    # The proof-of-work challenge (ALTCHA) a fan solves to enter this room.
    challenge_enabled = models.BooleanField(
        _("challenge at entry"),
        default=default_challenge_enabled,
        help_text=_("Fans' browsers solve a small proof-of-work puzzle before entering (it keeps macros slow)."),
    )
    challenge_max_number = models.PositiveIntegerField(
        _("challenge difficulty"),
        default=default_challenge_max_number,
        validators=[MinValueValidator(CHALLENGE_MIN_NUMBER)],
        help_text=_("The puzzle's largest number: higher takes a browser longer (100,000 is about a second)."),
    )

    class Meta:
        verbose_name = _("waiting room")
        verbose_name_plural = _("waiting rooms")
        constraints = [
            models.CheckConstraint(condition=Q(max_active__gte=1), name="waiting_room_max_active_positive"),
            models.CheckConstraint(condition=Q(admit_per_minute__gte=1), name="waiting_room_admit_per_minute_positive"),
            models.CheckConstraint(
                condition=Q(challenge_max_number__gte=1000), name="waiting_room_challenge_max_number_min"
            ),
        ]

    def __str__(self) -> str:
        return str(self.concert)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.draw_commitment:
            self.draw_commitment = commitment(self.draw_seed)
        super().save(*args, **kwargs)

    @property
    def is_drawn(self) -> bool:
        return self.drawn_at is not None


class ExitReason(models.TextChoices):
    """Why a visit to the waiting room ended (QueueToken.end_reason, QueueEntryHistory.exit_reason): stored as
    the code, shown by its label."""

    PAID = "paid", _("paid")
    LEFT = "left", _("left the queue")
    EXPIRED = "expired", _("expired")
    REMOVED = "removed", _("removed by staff")
    SALE_CLOSED = "sale_closed", _("the presale closed")
    ERROR = "error", _("ended by an error")


class QueueToken(models.Model):
    class State(models.TextChoices):
        WAITING = "WAITING", _("Waiting")
        ADMITTED = "ADMITTED", _("Admitted")
        ENDED = "ENDED", _("Ended")

    LIVE_STATES = (State.WAITING, State.ADMITTED)

    token = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_tokens", verbose_name=_("user")
    )
    # No index of its own: the indexes and unique constraints below that start with the concert serve it.
    concert = models.ForeignKey(
        "concerts.Concert",
        on_delete=models.CASCADE,
        related_name="queue_tokens",
        verbose_name=_("concert"),
        db_index=False,
    )
    # A per-concert sequence number: the fan's place, never renumbered. Empty while the fan is in the
    # pre-queue; the draw gives every pre-queue entrant a place (1, 2, ...) when the sale opens.
    queue_position = models.BigIntegerField(_("place in the queue"), null=True, blank=True)
    # A pre-queue entry's public receipt (its arrival number): the draw orders entries by it and the seed.
    receipt = models.CharField(_("receipt"), max_length=16, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.WAITING)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    admitted_at = models.DateTimeField(_("admitted at"), null=True, blank=True)
    expired_at = models.DateTimeField(_("admission expires at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=32, choices=ExitReason.choices, blank=True)

    class Meta:
        verbose_name = _("queue token")
        verbose_name_plural = _("queue tokens")
        ordering = ["concert", "queue_position"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "concert"],
                condition=Q(state__in=["WAITING", "ADMITTED"]),
                name="queue_token_one_live_per_user_concert",
            ),
            models.UniqueConstraint(fields=["concert", "queue_position"], name="queue_token_position_unique"),
            models.UniqueConstraint(
                fields=["concert", "receipt"], condition=~Q(receipt=""), name="queue_token_receipt_unique"
            ),
            models.CheckConstraint(
                condition=Q(queue_position__isnull=False)
                | Q(state="WAITING", receipt__gt="")
                | Q(state="ENDED", receipt__gt=""),
                name="queue_token_unplaced_is_prequeue",
            ),
            models.CheckConstraint(
                condition=Q(state="ADMITTED", admitted_at__isnull=False, expired_at__isnull=False)
                | Q(state="WAITING", admitted_at__isnull=True)
                | Q(state="ENDED", ended_at__isnull=False),
                name="queue_token_state_fields_match",
            ),
        ]
        indexes = [
            models.Index(fields=["concert", "state", "queue_position"], name="queue_token_concert_state_idx"),
            models.Index(fields=["expired_at"], condition=Q(state="ADMITTED"), name="queue_token_admitted_exp_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.concert} #{self.queue_position or self.receipt} · {self.get_state_display()}"

    @property
    def is_admitted(self) -> bool:
        return self.state == self.State.ADMITTED


class QueueEntryHistory(models.Model):
    """One row per visit to the waiting room: joined, maybe admitted, then exited (and why)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_history", verbose_name=_("user")
    )
    # No index of its own: each of the indexes below starts with the concert. Every index is one more insert
    # per join and per drawn place (a draw updates every pre-queue entrant's row).
    concert = models.ForeignKey(
        "concerts.Concert",
        on_delete=models.CASCADE,
        related_name="queue_history",
        verbose_name=_("concert"),
        db_index=False,
    )
    token = models.UUIDField(_("token"), unique=True)
    # The fan-club presale this visit was to (empty: the general sale). The room serves a concert's sales in turn,
    # so a draw's entries are its sale's (queueing.selectors.draw_entries). No database constraint: the visit is
    # kept when staff delete the presale.
    presale = models.ForeignKey(
        "concerts.Presale",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("presale"),
        db_index=False,  # read with the concert (a draw's entries, by place)
    )
    # Empty for a pre-queue entry until the draw places it (and for ever if it left before the draw).
    queue_position = models.BigIntegerField(_("place in the queue"), null=True, blank=True)
    receipt = models.CharField(_("pre-queue receipt"), max_length=16, blank=True)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    entered_at = models.DateTimeField(_("entered the queue at"))
    admitted_at = models.DateTimeField(_("admitted at"), null=True, blank=True)
    exited_at = models.DateTimeField(_("exited at"), null=True, blank=True)
    exit_reason = models.CharField(_("exit reason"), max_length=32, choices=ExitReason.choices, blank=True)
    was_admitted = models.BooleanField(_("was admitted"), default=False)
    # Seconds waited until admission, then (once exited) seconds from joining to exit.
    duration_seconds = models.PositiveIntegerField(_("duration (s)"), null=True, blank=True)
    # A staff removal (exit_reason "removed"): who, and why.
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("removed by"),
        db_index=False,  # indexed below where set: almost every row has none
    )
    exit_note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("waiting-room visit")
        verbose_name_plural = _("waiting-room history")
        ordering = ["-entered_at"]
        indexes = [
            models.Index(fields=["concert", "entered_at"], name="queue_history_concert_idx"),
            # Admitted visits only: a waiting fan's row (most of them in a rush, every one at a draw) skips it.
            models.Index(
                fields=["concert", "admitted_at"],
                condition=Q(admitted_at__isnull=False),
                name="queue_history_admitted_idx",
            ),
            # The live places of one address in one concert (the per-address cap).
            models.Index(
                fields=["concert", "client_ip"], condition=Q(exited_at__isnull=True), name="queue_history_live_ip_idx"
            ),
            # The drawn entries of one concert by place: the draw's public page reads a range of places.
            models.Index(
                fields=["concert", "queue_position"], condition=~Q(receipt=""), name="queue_history_drawn_idx"
            ),
            # A deleted staff account's removals (SET_NULL) are found by this.
            models.Index(
                fields=["removed_by"], condition=Q(removed_by__isnull=False), name="queue_history_removed_by_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["concert", "receipt"], condition=~Q(receipt=""), name="queue_history_receipt_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.concert} · {self.entered_at:%Y-%m-%d %H:%M}"


class SaleDraw(models.Model):
    """The record of a presale's draw, kept when the concert's waiting room moves on to its next sale (the room's own
    fields then hold the next sale's seed): the seed, its published commitment, when it ran and how many it placed,
    so the presale's draw can still be checked against its history rows (queueing.selectors.verify_draw)."""

    id = models.BigAutoField(primary_key=True)
    concert = models.ForeignKey(
        "concerts.Concert", on_delete=models.CASCADE, related_name="sale_draws", verbose_name=_("concert")
    )
    presale = models.UUIDField(_("presale"))
    presale_name = models.CharField(_("presale name"), max_length=100)
    seed = models.CharField(_("draw seed"), max_length=64)
    commitment = models.CharField(_("draw commitment (SHA-256 of the seed)"), max_length=64)
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True)
    draw_size = models.PositiveIntegerField(_("fans drawn"), default=0)
    closed_at = models.DateTimeField(_("closed at"))

    class Meta:
        verbose_name = _("presale draw")
        verbose_name_plural = _("presale draws")
        ordering = ["concert", "closed_at"]
        constraints = [models.UniqueConstraint(fields=["presale"], name="sale_draw_one_per_presale")]

    def __str__(self) -> str:
        return f"{self.concert} · {self.presale_name}"
