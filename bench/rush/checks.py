"""The checks after the rush, against the database: no seat sold twice, every sale paid once, every
cancellation refunded once, wallets reconcile, admission was FIFO; and the facts the report quotes.
Django is imported inside the function: it runs after django_setup()."""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import User
    from concerts.models import Concert

# A check's name -> (passed, what was found).
Checks = dict[str, tuple[bool, str]]


def check_database(concert: "Concert", fans: Sequence["User"], opens_at: datetime) -> tuple[Checks, dict[str, Any]]:
    """The invariants after the rush. Returns (checks, facts): checks maps a name to (ok, detail)."""
    from django.db.models import Count, Max, Q, Sum

    from accounts.models import User
    from booking.models import Payment, Reservation
    from concerts.models import Seat, SeatStatusHistory
    from queueing.models import QueueEntryHistory
    from wallet.models import ChargeHistory, UsageHistory

    checks: Checks = {}
    seats = Seat.objects.filter(concert_date__concert=concert)
    reservations = Reservation.objects.filter(seat__concert_date__concert=concert)
    live = ["HOLD", "CONFIRMED"]

    doubled = reservations.filter(status__in=live).values("seat").annotate(n=Count("id")).filter(n__gt=1).count()
    checks["no seat with two live reservations"] = (doubled == 0, f"{doubled} seats")

    reserved = seats.filter(status=Seat.Status.RESERVED).annotate(
        confirmed=Count("reservations", filter=Q(reservations__status="CONFIRMED"), distinct=True),
    )
    wrong_confirmed = reserved.exclude(confirmed=1).count()
    confirmed = reservations.filter(status="CONFIRMED").annotate(
        paid=Count("payments", filter=Q(payments__status="SUCCESS"))
    )
    wrong_paid = confirmed.exclude(paid=1).count()
    not_reserved = confirmed.exclude(seat__status=Seat.Status.RESERVED).count()
    checks["every RESERVED seat: one CONFIRMED reservation, one SUCCESS payment"] = (
        wrong_confirmed == 0 and wrong_paid == 0 and not_reserved == 0 and reserved.count() == confirmed.count(),
        f"{reserved.count()} reserved seats, {confirmed.count()} confirmed reservations; "
        f"{wrong_confirmed} seats without exactly one, {wrong_paid} reservations without exactly one payment, "
        f"{not_reserved} confirmed on a seat not RESERVED",
    )
    cancelled = reservations.filter(status="CANCELLED")
    unrefunded = cancelled.exclude(usages__action_type="CANCELLATION", usages__status="SUCCESS").count()
    checks["every cancelled reservation refunded once"] = (unrefunded == 0, f"{cancelled.count()} cancelled")

    fan_ids = [fan.pk for fan in fans]

    def totals(queryset: "QuerySet[Any]", field_name: str) -> dict[Any, int]:
        return dict(queryset.filter(user_id__in=fan_ids).values_list("user_id").annotate(total=Sum(field_name)))

    charged = totals(ChargeHistory.objects.filter(status="SUCCESS"), "amount")
    spent = totals(UsageHistory.objects.filter(status="SUCCESS", action_type="RESERVATION"), "amount")
    refunded = totals(UsageHistory.objects.filter(status="SUCCESS", action_type="CANCELLATION"), "amount")
    payments = totals(Payment.objects.filter(status="SUCCESS"), "amount")
    off = 0
    for user_id, balance in User.objects.filter(pk__in=fan_ids).values_list("pk", "balance"):
        expected = charged.get(user_id, 0) - spent.get(user_id, 0) + refunded.get(user_id, 0)
        off += balance != expected or payments.get(user_id, 0) != spent.get(user_id, 0)
    checks["wallets reconcile (balance = top-ups - payments + refunds)"] = (off == 0, f"{off} of {len(fan_ids)} off")

    entries = list(
        QueueEntryHistory.objects.filter(concert=concert)
        .order_by("queue_position")
        .values_list("queue_position", "admitted_at", "exited_at", "entered_at")
    )
    # FIFO: nobody is admitted while someone who joined earlier is waiting. Fan i (earlier place) waits
    # from entered_at until admitted (or until they left); fan j > i jumped them if j was admitted inside
    # that window. Fans admitted the moment they joined never wait, so they cannot be jumped.
    never = datetime.max.replace(tzinfo=UTC)
    waiting_windows: list[
        tuple[datetime, datetime]
    ] = []  # (entered_at, stopped_waiting_at) of every earlier fan who actually waited
    out_of_order = 0
    for _position, admitted_at, exited_at, entered_at in entries:
        if admitted_at is not None and any(start < admitted_at < end for start, end in waiting_windows):
            out_of_order += 1
        stopped_waiting = admitted_at or exited_at or never
        if stopped_waiting > entered_at:
            waiting_windows.append((entered_at, stopped_waiting))
    checks["admission was FIFO (QueueEntryHistory)"] = (
        out_of_order == 0,
        f"{out_of_order} of {sum(1 for entry in entries if entry[1])} admissions jumped someone still waiting",
    )

    total_seats = seats.count()
    reserved_count = seats.filter(status=Seat.Status.RESERVED).count()
    last_sale = reservations.filter(status="CONFIRMED").aggregate(last=Max("confirmed_at"))["last"]
    # Replay the seat history to find the first moment no seat was AVAILABLE (all held or paid). An
    # expired hold counts as taken until the beat sweep writes it back (a few seconds late at most).
    available, gone_at = total_seats, None
    history = SeatStatusHistory.objects.filter(seat__concert_date__concert=concert, changed_at__gte=opens_at)
    for from_status, to_status, changed_at in history.order_by("changed_at").values_list(
        "from_status", "to_status", "changed_at"
    ):
        available += (to_status == Seat.Status.AVAILABLE) - (from_status == Seat.Status.AVAILABLE)
        if available == 0 and gone_at is None:
            gone_at = changed_at
    facts = {
        "seats": total_seats,
        "reserved": reserved_count,
        "sold_out": reserved_count == total_seats,
        "no_seat_free_after_opening_s": (gone_at - opens_at).total_seconds() if gone_at else None,
        "last_sale_after_opening_s": (last_sale - opens_at).total_seconds() if last_sale else None,
        "reservations": dict(Counter(reservations.values_list("status", flat=True))),
        "queue_entries": len(entries),
        # When each fan was first admitted, server-side: the report compares it with when the fan's
        # status poll noticed.
        "first_admitted_at": dict(
            QueueEntryHistory.objects.filter(concert=concert, admitted_at__isnull=False)
            .order_by("-admitted_at")  # the earliest comes last and stays
            .values_list("user__email", "admitted_at")
        ),
        "won_paid": sum(payments.values()),
        "won_refunded": sum(refunded.values()),
    }
    return checks, facts
