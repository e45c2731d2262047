"""The checks after the rush, against the database: no seat sold twice, every sale paid once, every
cancellation refunded once, wallets reconcile, admission followed places, the draw followed its seed, fans
who came after the opening queued behind the draw in arrival order, no bot got ahead; and the facts the
report quotes. The rules are plain functions of the history's rows (tested alone, tests/bench/); Django is
imported inside check_database: it runs after django_setup()."""

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from queueing.draw import commitment, draw_order

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import User
    from concerts.models import Concert

# A check's name -> (passed, what was found).
Checks = dict[str, tuple[bool, str]]
# A user's join POSTs as the load generator saw them: (sent, answered), wall-clock seconds.
Joins = Mapping[str, Sequence[tuple[float, float]]]

NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Visit:
    """One QueueEntryHistory row: a visit to the waiting room."""

    email: str
    position: int | None  # None: a pre-queue entry the draw has not placed (it left before the draw)
    receipt: str  # "" for a visit that began after the opening
    entered_at: datetime
    admitted_at: datetime | None
    exited_at: datetime | None


def admission_jumps(visits: Sequence[Visit]) -> list[Visit]:
    """The visits admitted while a visit with an earlier place was still waiting: none, if admission followed
    places. Each visit waits from entering until admitted (or until it left); a drawn entrant entered before
    the opening, but nobody is admitted before the draw, so its window starts in effect at the draw. Visits
    without a place (pre-queue entries that left before the draw) never waited for one and are skipped;
    visits admitted the moment they joined never waited, so nobody can jump them.

    In place order, each admission asks whether any earlier place's waiting window (open at both ends) holds
    it: a Fenwick tree over the sorted instants counts the windows covering each instant, so 20,000 visits
    take a fraction of a second instead of the minutes that comparing every pair would."""
    placed = sorted((v for v in visits if v.position is not None), key=lambda v: v.position or 0)
    instants = sorted({v.entered_at for v in placed} | {v.admitted_at or v.exited_at or NEVER for v in placed})
    index = {instant: i + 1 for i, instant in enumerate(instants)}  # 1-based for the tree
    tree = [0] * (len(instants) + 2)

    def add(i: int, delta: int) -> None:
        while i < len(tree):
            tree[i] += delta
            i += i & -i

    def covering(i: int) -> int:  # windows that hold instant i: the prefix sum of the starts and ends
        total = 0
        while i > 0:
            total += tree[i]
            i -= i & -i
        return total

    jumped = []
    for visit in placed:
        if visit.admitted_at is not None and covering(index[visit.admitted_at]) > 0:
            jumped.append(visit)
        stopped_waiting = visit.admitted_at or visit.exited_at or NEVER
        if stopped_waiting > visit.entered_at:
            # Open at both ends: it covers the instants strictly between its start and its end.
            first, last = index[visit.entered_at] + 1, index[stopped_waiting] - 1
            if first <= last:
                add(first, 1)
                add(last + 1, -1)
    return jumped


def draw_problems(*, seed: str, committed: str, draw_size: int | None, visits: Sequence[Visit]) -> list[str]:
    """What is wrong with the draw as the history shows it (nothing, if it followed the seed): the seed is the
    one committed to, the drawn places are 1..n with n the room's draw size, and the receipts stand in the
    order queueing.draw.draw_order gives for the seed."""
    problems = []
    if commitment(seed) != committed:
        problems.append("the seed's SHA-256 is not the published commitment")
    drawn = sorted((v for v in visits if v.receipt and v.position is not None), key=lambda v: v.position or 0)
    if [v.position for v in drawn] != list(range(1, len(drawn) + 1)):
        problems.append("the drawn places are not 1, 2, ... n")
    if draw_size is not None and len(drawn) != draw_size:
        problems.append(f"{len(drawn)} drawn entries in the history, the room says {draw_size}")
    receipts = [v.receipt for v in drawn]
    misplaced = sum(a != b for a, b in zip(receipts, draw_order(seed, receipts), strict=True))
    if misplaced:
        problems.append(f"{misplaced} of {len(drawn)} receipts not at the place the seed gives them")
    return problems


def late_problems(*, drawn: int, visits: Sequence[Visit], joins: Joins) -> list[str]:
    """What is wrong with the places of the visits that began after the opening (nothing, if each came after
    every one of the `drawn` pre-queue places, first come first served).

    Arrival order is judged by what the load generator saw, which no clock skew between web processes can
    blur: each visit is matched to the join POST whose (sent, answered) span holds its entered_at, and a visit
    whose join was answered before another's was sent must have the earlier place. (Joins in flight together
    may be placed either way; a join that got no answer has an endless span.)"""
    late = [v for v in visits if not v.receipt and v.position is not None]
    problems = []
    ahead = sum(1 for v in late if (v.position or 0) <= drawn)
    if ahead:
        problems.append(f"{ahead} placed among the drawn entrants")
    timed: list[tuple[int, float, float]] = []
    unmatched = 0
    for visit in late:
        at = visit.entered_at.timestamp()
        span = next(((sent, answered) for sent, answered in joins.get(visit.email, ()) if sent <= at <= answered), None)
        if span is None:
            unmatched += 1
        else:
            timed.append((visit.position or 0, *span))
    if unmatched:
        problems.append(f"{unmatched} without a join POST of theirs that could have made them")
    inversions, earliest_answer_behind = 0, math.inf
    for _position, sent, answered in sorted(timed, reverse=True):
        inversions += earliest_answer_behind < sent  # someone behind had their answer before this one asked
        earliest_answer_behind = min(earliest_answer_behind, answered)
    if inversions:
        problems.append(f"{inversions} placed behind a join answered before theirs was sent")
    return problems


def bot_problems(
    *, bots: set[str], visits: Sequence[Visit], jumped: Sequence[Visit], holds: Sequence[tuple[str, datetime]]
) -> list[str]:
    """What bots got that they should not have (nothing, if none got ahead): an admission that jumped an earlier
    place, an admission without a place, or a seat held (`holds`: (email, reserved at)) before any admission."""
    problems = []
    ahead = sum(1 for v in jumped if v.email in bots)
    if ahead:
        problems.append(f"{ahead} bot admissions ahead of an earlier place")
    unplaced = sum(1 for v in visits if v.email in bots and v.position is None and v.admitted_at is not None)
    if unplaced:
        problems.append(f"{unplaced} bot admissions without a drawn place")
    first_admitted: dict[str, datetime] = {}
    for visit in visits:
        if visit.email in bots and visit.admitted_at is not None:
            first_admitted[visit.email] = min(visit.admitted_at, first_admitted.get(visit.email, NEVER))
    early = sum(1 for email, at in holds if email in bots and at < first_admitted.get(email, NEVER))
    if early:
        problems.append(f"{early} seats held by bots before they were admitted")
    return problems


def check_database(
    concert: "Concert",
    fans: Sequence["User"],
    opens_at: datetime,
    *,
    joins: Joins | None = None,
    bots: Sequence["User"] = (),
) -> tuple[Checks, dict[str, Any]]:
    """The invariants after the rush. Returns (checks, facts): checks maps a name to (ok, detail). `fans` are
    every account of the rush whose wallet must reconcile (bots included), `joins` each account's join POSTs
    as the load generator saw them, `bots` the scripted clients' accounts."""
    from django.db.models import Count, Max, Q, Sum

    from accounts.models import User
    from booking.models import Payment, Reservation
    from concerts.models import Seat, SeatStatusHistory
    from queueing import selectors
    from queueing.models import QueueEntryHistory, WaitingRoom
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

    visits = [
        Visit(*row)
        for row in QueueEntryHistory.objects.filter(concert=concert).values_list(
            "user__email", "queue_position", "receipt", "entered_at", "admitted_at", "exited_at"
        )
    ]
    jumped = admission_jumps(visits)
    unplaced = [v for v in visits if v.position is None]
    admitted_unplaced = sum(1 for v in unplaced if v.admitted_at is not None)
    checks["admission followed places (QueueEntryHistory)"] = (
        not jumped and not admitted_unplaced,
        f"{len(jumped)} of {sum(1 for v in visits if v.admitted_at)} admissions jumped someone still waiting, "
        f"{admitted_unplaced} admitted without a place ({len(unplaced)} pre-queue entries left before the draw)",
    )

    room = WaitingRoom.objects.get(pk=concert.pk)
    drawn = room.draw_size if room.drawn_at else 0
    problems = draw_problems(
        seed=room.draw_seed,
        committed=room.draw_commitment,
        draw_size=room.draw_size if room.drawn_at else None,
        visits=visits,
    )
    if room.drawn_at:  # and queueing's own check (manage.py verify_draw) agrees
        problems += [f"verify_draw: {problem}" for problem in selectors.verify_draw(concert)]
    checks["the draw followed its committed seed"] = (
        not problems,
        "; ".join(problems) or (f"{drawn} entrants placed in the seed's order" if room.drawn_at else "no draw ran"),
    )
    late = [v for v in visits if not v.receipt and v.position is not None]
    problems = late_problems(drawn=drawn, visits=visits, joins=joins or {})
    checks["arrivals after the opening queued behind the draw, first come first served"] = (
        not problems,
        "; ".join(problems) or f"{len(late)} visits placed {drawn + 1} onwards in arrival order",
    )
    bot_emails = {bot.email for bot in bots}
    if bot_emails:
        holds = list(reservations.filter(user__in=bots).values_list("user__email", "created_at"))
        problems = bot_problems(bots=bot_emails, visits=visits, jumped=jumped, holds=holds)
        checks["no bot got ahead of its place (admission, holds)"] = (
            not problems,
            "; ".join(problems) or f"{len(holds)} bot reservations, each after the bot's admission",
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
        "queue_entries": len(visits),
        "draw": {
            "size": drawn,
            "after_opening_s": (room.drawn_at - opens_at).total_seconds() if room.drawn_at else None,
            "left_before": len(unplaced),
            "late_visits": len(late),
            # Where the bots' drawn places fell among all drawn places (a fair draw: spread over them all).
            "bot_places": sorted(v.position or 0 for v in visits if v.email in bot_emails and v.receipt and v.position),
        },
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
