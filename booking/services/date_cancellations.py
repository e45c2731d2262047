"""Cancelling a whole concert date: the date marked CANCELLED (no more sales), then every live reservation of it
ended (holds released, paid ones refunded), by an RQ job or `manage.py cancel_date`.

Each reservation is still changed by booking.services.cancellations (release_hold / refund_and_cancel, both
idempotent), so the locks and the ledger rules stay in one place; this module only loops.
"""

import datetime
import uuid
from collections import Counter
from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import audit
from accounts.models import User
from concerts import page_cache
from concerts.models import ConcertDate, DateCancellation

from .. import seat_versions, selectors
from ..exceptions import ReservationNotCancellable
from ..models import Reservation
from . import cancellations

REFUND_BATCH_SIZE = 200
DATE_CANCELLED = Reservation.EndReason.DATE_CANCELLED


def mark_date_cancelled(
    *, concert_date: ConcertDate, by: User | None = None, reason: str, now: datetime.datetime | None = None
) -> tuple[DateCancellation, bool]:
    """Mark the date CANCELLED and record who, why and how many live reservations it had. Idempotent.

    Only the mark: no reservation is ended here (end_reservations_of_cancelled_date does that, in the refund
    job that cancel_concert_date queues). Locks the date row, so two staff members cancelling at once make
    one DateCancellation. Audited ("date.cancel", once: when it marks the date). Returns (cancellation, created).
    """
    now = now or timezone.now()
    reason = (reason or "").strip()[:200]  # staff's words, or none: never an English default shown raw in Korean
    with transaction.atomic():
        date = ConcertDate.objects.select_for_update().get(pk=concert_date.pk)
        if date.is_cancelled:
            return DateCancellation.objects.get(concert_date=date), False
        ConcertDate.objects.filter(pk=date.pk).update(status=ConcertDate.Status.CANCELLED, cancelled_at=now)
        live = selectors.live_reservations(date).count()
        cancellation = DateCancellation.objects.create(
            concert_date=date, requested_by=by, reason=reason, requested_at=now, total=live
        )
        audit.record(
            "date.cancel",
            date,
            changes={"status": (date.status, ConcertDate.Status.CANCELLED), "cancelled_at": (None, now)},
            actor=by,
            note=f"{reason} ({live} live reservations to end)",
        )
        # No seat changes yet (the refund job frees them, each with its own new version), but nothing cached
        # from the date should outlive its cancellation either (an update() sends no signal).
        seat_versions.seats_changed([date.pk])
        page_cache.forget(concert_ids=[date.concert_id], concert_date_ids=[date.pk])
    concert_date.status, concert_date.cancelled_at = ConcertDate.Status.CANCELLED, now
    return cancellation, True


def cancel_concert_date(
    *,
    concert_date: ConcertDate,
    by: User | None = None,
    reason: str,
    now: datetime.datetime | None = None,
    enqueue: bool = True,
) -> DateCancellation:
    """Cancel the date (no more sales) and start refunding it: returns its DateCancellation.

    Idempotent: cancelling a cancelled date returns the same record. With enqueue, the refund job
    (booking.jobs.refund_cancelled_date) is queued once the cancellation has committed; each new call
    queues it again, which is safe (the job finishes what is left and stops).
    """
    cancellation, _created = mark_date_cancelled(concert_date=concert_date, by=by, reason=reason, now=now)
    if enqueue:
        from .. import jobs

        # robust: if Redis is down the date stays cancelled and the record shows "waiting for a worker";
        # cancelling again from the admin list, or `manage.py cancel_date`, finishes the refunds.
        transaction.on_commit(
            lambda: jobs.enqueue(jobs.refund_cancelled_date, cancellation_id=str(cancellation.pk)), robust=True
        )
    return cancellation


def end_reservations_of_cancelled_date(
    *,
    cancellation: DateCancellation,
    by: User | None = None,
    batch_size: int = REFUND_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """End every live reservation of a cancelled date: holds released, paid ones refunded. Idempotent.

    Safe to run twice, at once on two workers, or again after a crash: refund_and_cancel refunds a
    reservation exactly once (under its seat lock) and returns an already-cancelled one unchanged. Loops
    until no live reservation is left, so a hold or payment that slipped in while the date was being
    cancelled is ended too. `progress(done, total)` is called after each reservation. Returns how many
    reservations this run ended.
    """
    DateCancellation.objects.filter(pk=cancellation.pk).update(runs=F("runs") + 1)
    DateCancellation.objects.filter(pk=cancellation.pk, started_at__isnull=True).update(started_at=timezone.now())
    date = cancellation.concert_date
    reason = cancellation.reason  # the staff's words: each seat's history note (its code says the date was cancelled)
    ended = 0
    failures: Counter[uuid.UUID] = Counter()
    stuck: set[uuid.UUID] = set()
    while True:
        batch = list(selectors.live_reservations(date).exclude(pk__in=stuck).order_by("pk")[:batch_size])
        if not batch:
            break
        if progress:  # counted once a batch; each reservation ended below moves it on by one
            done, total, _remaining = selectors.cancellation_progress(cancellation)
        for reservation in batch:
            try:
                if reservation.status == Reservation.Status.HOLD:
                    result = cancellations.release_hold(
                        reservation=reservation, by=by, reason=reason, end_reason=DATE_CANCELLED
                    )
                else:
                    result = cancellations.refund_and_cancel(
                        reservation=reservation, by=by, reason=reason, end_reason=DATE_CANCELLED
                    )
            except ReservationNotCancellable:
                # It changed under us (a hold was paid a moment ago): the next pass reads it again.
                failures[reservation.pk] += 1
                if failures[reservation.pk] >= 3:
                    stuck.add(reservation.pk)
                continue
            if result.status == Reservation.Status.CANCELLED:
                ended += 1
            if progress:
                done = min(done + 1, total)
                progress(done, total)
    if stuck:
        raise RuntimeError(f"{len(stuck)} reservations could not be ended; run the refund again.")
    DateCancellation.objects.filter(pk=cancellation.pk).update(finished_at=timezone.now(), last_error="")
    return ended
