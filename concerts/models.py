"""Concerts, their dates and the seats of each date, with every seat status change on record."""

import datetime
import uuid
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.service_fields import ServiceFieldsMixin


class Concert(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    venue = models.CharField(_("venue"), max_length=200, blank=True)
    # The span of the concert's shows: the start of its first and of its last date. Dates are the truth:
    # concerts.services keeps these two in step whenever a date is created, moved or deleted (nobody edits
    # them), so listing and the waiting room read them without a join. Empty while the concert has no dates.
    start_time = models.DateTimeField(_("first show starts"), null=True, blank=True, editable=False)
    end_time = models.DateTimeField(_("last show starts"), null=True, blank=True, editable=False)
    sale_opens_at = models.DateTimeField(_("sale opens at"))
    # From when fans may enter the pre-queue (everyone in it before the opening is drawn at random when
    # the sale opens); empty means settings.PREQUEUE_MINUTES before the opening.
    prequeue_opens_at = models.DateTimeField(
        _("pre-queue opens at"),
        null=True,
        blank=True,
        help_text=_("Leave empty for the default: PREQUEUE_MINUTES (30 unless configured) before the sale opens."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("concert")
        verbose_name_plural = _("concerts")
        ordering = ["start_time", "title"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gte=models.F("start_time")), name="concert_ends_after_start"),
            models.CheckConstraint(
                condition=Q(prequeue_opens_at__isnull=True) | Q(prequeue_opens_at__lt=models.F("sale_opens_at")),
                name="concert_prequeue_before_sale",
                violation_error_message=_("The pre-queue must open before the sale opens."),
            ),
        ]
        indexes = [models.Index(fields=["sale_opens_at"], name="concert_sale_opens_idx")]

    def __str__(self) -> str:
        return self.title

    def is_on_sale(self, now: datetime.datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.sale_opens_at

    @property
    def prequeue_starts_at(self) -> datetime.datetime:
        """When fans may start entering the pre-queue: the staff's time, or PREQUEUE_MINUTES before the sale."""
        if self.prequeue_opens_at is not None:
            return self.prequeue_opens_at
        return self.sale_opens_at - datetime.timedelta(minutes=settings.PREQUEUE_MINUTES)

    def is_in_prequeue(self, now: datetime.datetime | None = None) -> bool:
        """Is the pre-queue open (entrants will be drawn at random when the sale opens)?"""
        return self.prequeue_starts_at <= (now or timezone.now()) < self.sale_opens_at

    def is_over(self, now: datetime.datetime | None = None) -> bool:
        """Its last show has started (or it has no dates yet): nothing is left to book."""
        return self.end_time is None or self.end_time < (now or timezone.now())


class CancellationFeeRule(models.Model):
    """One row of a concert's cancellation fee schedule: from `days_before` days before the show (Asia/Seoul
    calendar days, the show's day being day 0) the fan's cancellation costs `percent` % of the price paid.

    A concert without rows uses the standard Korean schedule (booking.selectors.cancellation_fees
    .STANDARD_SCHEDULE). The rows are the concert's policy, edited with it in the admin; booking reads them
    when it quotes and charges a cancellation. The show's own day (day 0) is never cancellable, so a row
    starts at day 1 or earlier.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    concert = models.ForeignKey(
        Concert, on_delete=models.CASCADE, related_name="cancellation_fee_rules", verbose_name=_("concert")
    )
    days_before = models.PositiveSmallIntegerField(
        _("from days before the show"),
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("1 = the day before the show. The show's own day cannot be cancelled."),
    )
    percent = models.PositiveSmallIntegerField(
        _("fee (percent of the price)"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )

    class Meta:
        verbose_name = _("cancellation fee step")
        verbose_name_plural = _("cancellation fee schedule")
        ordering = ["concert", "-days_before"]
        constraints = [
            models.UniqueConstraint(
                fields=["concert", "days_before"],
                name="cancellation_fee_rule_day_unique",
                violation_error_message=_("This concert already has a step for that day."),
            ),
            models.CheckConstraint(
                condition=Q(days_before__gte=1, days_before__lte=365),
                name="cancellation_fee_rule_days_range",
                violation_error_message=_("A step starts 1 to 365 days before the show."),
            ),
            models.CheckConstraint(
                condition=Q(percent__gte=0, percent__lte=100),
                name="cancellation_fee_rule_percent_range",
                violation_error_message=_("A fee is 0 to 100 percent of the price."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.concert}: D-{self.days_before} {self.percent}%"


def local_day(moment: datetime.datetime) -> datetime.date:
    """The day of `moment` in the site's time zone (settings.TIME_ZONE), whatever zone is active now."""
    return moment.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()


class ConcertDate(ServiceFieldsMixin, models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "SCHEDULED", _("Scheduled")
        CANCELLED = "CANCELLED", _("Cancelled")

    # Moved only by booking.services.mark_date_cancelled; a plain save() never writes them (config.service_fields).
    service_fields = ("status", "cancelled_at")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    concert = models.ForeignKey(Concert, on_delete=models.CASCADE, related_name="dates", verbose_name=_("concert"))
    # When the show begins. Each date has its own start (a matinee and an evening show of one concert differ).
    starts_at = models.DateTimeField(_("starts at"))
    # The local day of starts_at, kept by save(): one show per concert per day, and what day lists filter on.
    concert_date = models.DateField(_("date"), editable=False)
    # A cancelled date sells nothing more; its paid reservations are refunded (see DateCancellation).
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("concert date")
        verbose_name_plural = _("concert dates")
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["concert", "concert_date"], name="concert_date_unique_per_concert"),
            models.CheckConstraint(
                condition=Q(status="SCHEDULED", cancelled_at__isnull=True)
                | Q(status="CANCELLED", cancelled_at__isnull=False),
                name="concert_date_cancelled_has_time",
            ),
        ]

    def __str__(self) -> str:
        if self.starts_at is None:  # an empty form row
            return str(_("concert date"))  # type: ignore[unreachable]  # the stubs assume a saved row
        return f"{self.concert} · {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.starts_at is not None:
            self.concert_date = local_day(self.starts_at)
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "starts_at" in update_fields:
                kwargs["update_fields"] = {*update_fields, "concert_date"}
        super().save(*args, **kwargs)

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED


class Seat(ServiceFieldsMixin, models.Model):
    class Status(models.TextChoices):
        AVAILABLE = "AVAILABLE", _("Available")
        HELD = "HELD", _("Held")
        RESERVED = "RESERVED", _("Reserved")

    # Moved only by booking.services under the seat lock; a plain save() never writes them.
    service_fields = ("status", "held_by", "hold_expire_at")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    concert_date = models.ForeignKey(
        ConcertDate, on_delete=models.CASCADE, related_name="seats", verbose_name=_("concert date")
    )
    seat_number = models.PositiveSmallIntegerField(_("seat number"))
    price = models.PositiveIntegerField(_("price (won)"))
    # The name of the price tier staff gave it (VIP, R, S…); blank when the tier had none.
    tier = models.CharField(_("seat tier"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.AVAILABLE)
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="held_seats",
        verbose_name=_("held by"),
    )
    hold_expire_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    # Not a column: booking's seat lock sets it on each seat it locks (when its last history row was written).
    last_history_at: datetime.datetime | None = None

    class Meta:
        verbose_name = _("seat")
        verbose_name_plural = _("seats")
        ordering = ["concert_date", "seat_number"]
        constraints = [
            models.UniqueConstraint(fields=["concert_date", "seat_number"], name="seat_number_unique_per_date"),
            models.CheckConstraint(
                condition=Q(seat_number__gte=1, seat_number__lte=settings.SEATS_PER_DATE),
                name="seat_number_in_range",
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="seat_price_positive"),
            # A HELD seat has a holder and an expiry; AVAILABLE and RESERVED seats have neither
            # (a reserved seat's owner is its CONFIRMED reservation).
            models.CheckConstraint(
                condition=(
                    Q(status="HELD", held_by__isnull=False, hold_expire_at__isnull=False)
                    | Q(status__in=["AVAILABLE", "RESERVED"], held_by__isnull=True, hold_expire_at__isnull=True)
                ),
                name="seat_hold_fields_match_status",
            ),
        ]
        indexes = [
            models.Index(fields=["concert_date", "status"], name="seat_date_status_idx"),
            models.Index(fields=["hold_expire_at"], condition=Q(status="HELD"), name="seat_held_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.concert_date} #{self.seat_number}"

    def is_free_at(self, now: datetime.datetime) -> bool:
        """Available, or held by a hold whose time has passed (an expired hold counts as free)."""
        if self.status == self.Status.AVAILABLE:
            return True
        # A HELD seat always has its expiry (seat_hold_fields_match_status).
        return self.status == self.Status.HELD and self.hold_expire_at is not None and self.hold_expire_at <= now

    def status_at(self, now: datetime.datetime) -> str:
        """The status a reader should see: an expired hold reads as AVAILABLE."""
        return self.Status.AVAILABLE if self.is_free_at(now) else self.status


class SeatStatusHistory(models.Model):
    """One change of a seat's status: why as a code (`reason`, shown by its label in the reader's language), and
    the staff member's own words, if any, in `note` (a refund's reason, a date cancellation's reason)."""

    class Reason(models.TextChoices):
        SEAT_CREATED = "seat_created", _("Seat created")
        HELD = "held", _("Held by the fan")
        PAID = "paid", _("Paid")
        HOLD_EXPIRED = "hold_expired", _("Hold expired")
        FAN_CANCELLED = "fan_cancelled", _("Cancelled by the fan")
        STAFF_REFUNDED = "staff_refunded", _("Refunded by staff")
        STAFF_RELEASED = "staff_released", _("Hold released by staff")
        DATE_CANCELLED = "date_cancelled", _("Date cancelled by the organiser")
        WAITLIST_OFFERED = "waitlist_offered", _("Offered from the waiting list")
        OFFER_DECLINED = "offer_declined", _("Waiting-list offer declined")
        FAN_RELEASED = "fan_released", _("Hold released by the fan")
        OTHER = "other", _("Other")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="history", verbose_name=_("seat"))
    from_status = models.CharField(_("from"), max_length=16, choices=Seat.Status.choices, null=True, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=Seat.Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("seat status change")
        verbose_name_plural = _("seat status history")
        ordering = ["-changed_at"]
        indexes = [models.Index(fields=["seat", "changed_at"], name="seat_history_seat_time_idx")]

    def __str__(self) -> str:
        return f"{self.seat}: {self.get_from_status_display()} → {self.get_to_status_display()}"


class DateCancellation(models.Model):
    """Staff cancelled a date: the record of who, why and when, and of the bulk refund that follows.

    The refund job may run more than once (retry, crash, second click): each reservation is refunded
    exactly once because booking.services.refund_and_cancel is idempotent; progress is read from the
    reservations still live on the date, so a crash never leaves a wrong counter behind.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    concert_date = models.OneToOneField(
        ConcertDate, on_delete=models.CASCADE, related_name="cancellation", verbose_name=_("concert date")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)  # staff's own words; may be left out
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    # Live (held or paid) reservations on the date when it was cancelled: the job's 100 %.
    total = models.PositiveIntegerField(_("reservations to end"), default=0)
    runs = models.PositiveIntegerField(_("job runs"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("date cancellation")
        verbose_name_plural = _("date cancellations")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.concert_date} · {self.reason}" if self.reason else str(self.concert_date)


def export_upload_to(instance: models.Model, filename: str) -> str:
    # Where exports were written before they moved into the database; migration 0002 still names it.
    return f"exports/{instance.pk}/{filename}"


class DateExport(models.Model):
    """A CSV of a date's reservations and payments, written by an RQ job for a staff member to download.

    The CSV itself is kept in this row (`content`), not on the worker's disk: any web instance, on any
    host, serves the download from PostgreSQL, with no shared file system or object store to run. A
    date has at most SEATS_PER_DATE seats, so an export is a few hundred rows at most.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Waiting for a worker")
        READY = "READY", _("Ready")
        FAILED = "FAILED", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    concert_date = models.ForeignKey(
        ConcertDate, on_delete=models.CASCADE, related_name="exports", verbose_name=_("concert date")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    filename = models.CharField(_("file name"), max_length=100, blank=True)
    content = models.TextField(_("CSV"), blank=True, editable=False)
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("CSV export")
        verbose_name_plural = _("CSV exports")
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="READY") | (Q(finished_at__isnull=False) & ~Q(filename="") & ~Q(content="")),
                name="date_export_ready_has_csv",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.concert_date} · {self.requested_at:%Y-%m-%d %H:%M}"


class SalesDashboard(ConcertDate):
    """No table of its own: gives the admin's sales dashboard a place in the admin index."""

    class Meta:
        proxy = True
        verbose_name = _("sales dashboard")
        verbose_name_plural = _("sales dashboard")


class Presale(models.Model):
    """A fan-club presale window (선예매) of a concert: before the general sale, a quota of seats for the fans on
    its list (codes, or account e-mail addresses). The rules live in concerts.presales."""

    class Access(models.TextChoices):
        CODES = "CODES", _("Codes (one use each)")
        EMAILS = "EMAILS", _("Account e-mail addresses")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    concert = models.ForeignKey(Concert, on_delete=models.CASCADE, related_name="presales", verbose_name=_("concert"))
    name = models.CharField(_("name"), max_length=100)
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(
        _("closes at"), help_text=_("At the latest when the general sale's waiting room opens (its pre-queue).")
    )
    quota = models.PositiveIntegerField(
        _("seat quota"), help_text=_("Seats this presale may sell, all dates together.")
    )
    access = models.CharField(_("who may enter"), max_length=8, choices=Access.choices, default=Access.CODES)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("presale")
        verbose_name_plural = _("presales")
        ordering = ["concert", "opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")),
                name="presale_closes_after_opening",
                violation_error_message=_("A presale must close after it opens."),
            ),
            models.CheckConstraint(
                condition=Q(quota__gte=1),
                name="presale_quota_positive",
                violation_error_message=_("A presale's quota is at least one seat."),
            ),
        ]
        indexes = [models.Index(fields=["concert", "opens_at"], name="presale_concert_opens_idx")]

    def __str__(self) -> str:
        return f"{self.concert} · {self.name}"

    def is_open(self, now: datetime.datetime | None = None) -> bool:
        return self.opens_at <= (now or timezone.now()) < self.closes_at


class PresaleCode(models.Model):
    """One presale code (인증 코드), kept only as a keyed hash (concerts.presales.code_hash), used once: bound to
    the fan who entered it first."""

    id = models.BigAutoField(primary_key=True)
    presale = models.ForeignKey(Presale, on_delete=models.CASCADE, related_name="codes", verbose_name=_("presale"))
    code_hash = models.CharField(_("code (keyed hash)"), max_length=64, editable=False)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("used by"),
        db_index=False,  # presale_code_one_per_fan indexes it
    )
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("presale code")
        verbose_name_plural = _("presale codes")
        ordering = ["presale", "id"]
        constraints = [
            models.UniqueConstraint(fields=["presale", "code_hash"], name="presale_code_unique"),
            # A fan spends at most one code per presale.
            models.UniqueConstraint(
                fields=["presale", "used_by"], condition=Q(used_by__isnull=False), name="presale_code_one_per_fan"
            ),
            models.CheckConstraint(
                condition=Q(used_by__isnull=True) | Q(used_at__isnull=False), name="presale_code_used_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.presale} · {self.code_hash[:8]}…"


class PresaleEmail(models.Model):
    """An account e-mail address on a presale's list (lower case)."""

    id = models.BigAutoField(primary_key=True)
    presale = models.ForeignKey(Presale, on_delete=models.CASCADE, related_name="emails", verbose_name=_("presale"))
    email = models.EmailField(_("e-mail address"))

    class Meta:
        verbose_name = _("presale e-mail address")
        verbose_name_plural = _("presale e-mail addresses")
        ordering = ["presale", "email"]
        constraints = [
            models.UniqueConstraint(fields=["presale", "email"], name="presale_email_unique"),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="presale_email_lower_case"),
        ]

    def __str__(self) -> str:
        return self.email
