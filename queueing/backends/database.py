"""The queue in the database: one QueueToken row per visit, places handed out from the WaitingRoom row.

Works on PostgreSQL and SQLite. On PostgreSQL the WaitingRoom row is the per-concert lock (joins and
admission runs take it with select_for_update); on SQLite select_for_update is a no-op, but every
transaction there starts IMMEDIATE (see config/settings.py), which serializes writers just the same.
A waiting fan's distance to the front is their place minus WaitingRoom.served_position, so a status
poll never counts a long run of rows; only near the front, where the count is short, is it exact.
"""

import datetime
import uuid
from collections.abc import Callable, Sequence

from django.db import connection
from django.db.models import DateTimeField, F, Max, QuerySet, Value
from django.db.models.functions import Least, Now

from queueing.draw import draw_order, receipt_for
from queueing.models import ExitReason, QueueToken, WaitingRoom

from .base import (
    AdmitResult,
    DrawnPlaces,
    DrawPending,
    DrawResult,
    JoinResult,
    QueueBackend,
    SaleChanged,
    Ticket,
    arrival_key,
    sale_tag,
)

# Within this many places of the front, `ahead` is counted exactly (a bounded index range scan), so
# fans who left the queue in front of you are not counted; further back it is the place difference.
EXACT_AHEAD_WINDOW = 1_000


def _ticket(token: QueueToken, *, ahead: int | None = None, prequeue_size: int | None = None) -> Ticket:
    return Ticket(
        token=token.token,
        user_id=token.user_id,
        sequence=token.queue_position,
        entered_at=token.issued_at,
        admitted_at=token.admitted_at if token.state == QueueToken.State.ADMITTED else None,
        expires_at=token.expired_at if token.state == QueueToken.State.ADMITTED else None,
        ahead=ahead,
        receipt=token.receipt,
        prequeue_size=prequeue_size,
    )


def _place_tokens(places: list[tuple[uuid.UUID, int]]) -> None:
    """Give the QueueToken rows their places, (token, place) pairs: on PostgreSQL one UPDATE joined to the
    pairs, so a draw of 100,000 is one statement (bulk_update's CASE per row takes tens of seconds there)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {QueueToken._meta.db_table} AS t SET queue_position = d.place "  # noqa: S608 -- our table
                "FROM unnest(%s::uuid[], %s::bigint[]) AS d(token, place) WHERE t.token = d.token",
                [[token for token, _ in places], [place for _, place in places]],
            )
        return
    rows = [QueueToken(token=token, queue_position=place) for token, place in places]
    QueueToken.objects.bulk_update(rows, ["queue_position"], batch_size=500)


class DatabaseQueueBackend(QueueBackend):
    name = "database"
    transactional = True

    def _live(self, concert_id: uuid.UUID, user_id: uuid.UUID) -> QuerySet[QueueToken]:
        return QueueToken.objects.filter(concert_id=concert_id, user_id=user_id, state__in=QueueToken.LIVE_STATES)

    def _admitted_now(self, concert_id: uuid.UUID, now: datetime.datetime) -> int:
        return QueueToken.objects.filter(
            concert_id=concert_id, state=QueueToken.State.ADMITTED, expired_at__gt=now
        ).count()

    def _end_ran_out(self, concert_id: uuid.UUID, now: datetime.datetime) -> list[Ticket]:
        """End the admissions that have run out (locking their rows: a touch racing this either slid the
        row first, and it is not ended, or finds it ended). Returns them as tickets."""
        ran_out = list(
            QueueToken.objects.select_for_update()
            .filter(concert_id=concert_id, state=QueueToken.State.ADMITTED, expired_at__lte=now)
            .order_by("queue_position")
        )
        if ran_out:
            self._end_tokens(ran_out, now=now, reason=ExitReason.EXPIRED)
        return [_ticket(t) for t in ran_out]

    def _end_tokens(self, tokens: Sequence[QueueToken], *, now: datetime.datetime, reason: str) -> None:
        QueueToken.objects.filter(pk__in=[t.pk for t in tokens]).update(
            state=QueueToken.State.ENDED, ended_at=now, end_reason=reason
        )

    def _waiting(self, concert_id: uuid.UUID) -> QuerySet[QueueToken]:
        """Waiting fans with a place (not the pre-queue's, who have none until the draw)."""
        return QueueToken.objects.filter(
            concert_id=concert_id, state=QueueToken.State.WAITING, queue_position__isnull=False
        )

    def _prequeued(self, concert_id: uuid.UUID) -> QuerySet[QueueToken]:
        return QueueToken.objects.filter(
            concert_id=concert_id, state=QueueToken.State.WAITING, queue_position__isnull=True
        )

    def join(
        self,
        *,
        room: WaitingRoom,
        user_id: uuid.UUID,
        now: datetime.datetime,
        prequeue: bool = False,
        arrival_floor: int | None = None,
        sale: str | None = None,
    ) -> JoinResult:
        # The arrival counter is the room's row, kept with the database: it is never lost, so no floor.
        room = WaitingRoom.objects.select_for_update().get(pk=room.pk)
        if sale is not None and sale_tag(room.serving_presale) != sale:
            raise SaleChanged()
        replaced = None
        live = self._live(room.pk, user_id).select_for_update().first()
        if live is not None:
            if live.state == QueueToken.State.WAITING:
                ahead = None if live.queue_position is None else self._ahead(room, live.queue_position)
                return JoinResult(ticket=_ticket(live, ahead=ahead), created=False)
            if live.expired_at is not None and live.expired_at > now:  # an admitted token has an end
                return JoinResult(ticket=_ticket(live), created=False)
            replaced = _ticket(live)
            self._end_tokens([live], now=now, reason=ExitReason.EXPIRED)

        if room.drawn_at is None:
            if not prequeue:
                raise DrawPending()
            arrival = room.prequeue_arrivals + 1
            token = QueueToken.objects.create(
                user_id=user_id,
                concert_id=room.pk,
                queue_position=None,
                receipt=receipt_for(arrival),
                state=QueueToken.State.WAITING,
                issued_at=now,
            )
            room.prequeue_arrivals = arrival
            room.save(update_fields=["prequeue_arrivals"])
            return JoinResult(ticket=_ticket(token), created=True, replaced=replaced)

        # next_position is the counter; the highest place on record is the truth, should a counter ever have
        # been written back stale (one step down the position index), so a join never collides.
        place = max(room.next_position, self._highest_place(room.pk)) + 1
        token = QueueToken.objects.create(
            user_id=user_id, concert_id=room.pk, queue_position=place, state=QueueToken.State.WAITING, issued_at=now
        )
        room.next_position = place
        room.save(update_fields=["next_position"])
        return JoinResult(ticket=_ticket(token, ahead=self._ahead(room, place)), created=True, replaced=replaced)

    def close_sale(self, *, room: WaitingRoom, now: datetime.datetime, next_sale: str) -> None:
        # Joins lock the room's row, which the caller holds: none runs until the room serves `next_sale`. The rows
        # go (the history keeps every visit), so the next sale's places start from 1 on the place index.
        QueueToken.objects.filter(concert_id=room.pk).delete()

    def _highest_place(self, concert_id: uuid.UUID) -> int:
        place: int | None = QueueToken.objects.filter(concert_id=concert_id).aggregate(top=Max("queue_position"))["top"]
        return place or 0

    def draw(
        self,
        *,
        room: WaitingRoom,
        seed: str,
        now: datetime.datetime,
        place_floor: int = 0,
        record: Callable[[DrawnPlaces], None] | None = None,
    ) -> DrawResult:
        # Locked, so a fan leaving the pre-queue waits for the draw; read as plain values, since 100,000
        # model instances cost seconds.
        entries = {
            receipt: (token, user_id, issued_at)
            for token, receipt, user_id, issued_at in self._prequeued(room.pk)
            .select_for_update()
            .values_list("token", "receipt", "user_id", "issued_at")
        }
        base = max(room.next_position, self._highest_place(room.pk), place_floor)
        drawn, places = [], []
        for place, receipt in enumerate(draw_order(seed, entries), start=base + 1):
            token, user_id, issued_at = entries[receipt]
            drawn.append(Ticket(token=token, user_id=user_id, sequence=place, entered_at=issued_at, receipt=receipt))
            places.append((arrival_key(receipt), token, place))
        places.sort()  # arrival order, the rows' order (see QueueBackend.draw), for both UPDATEs
        in_arrival = [(token, place) for _, token, place in places]
        _place_tokens(in_arrival)
        room.next_position = base + len(drawn)
        room.save(update_fields=["next_position"])
        if record is not None:
            record(in_arrival)
        return DrawResult(tickets=drawn, drawn_at=now)

    def prequeue_count(self, *, concert_id: uuid.UUID) -> int:
        return self._prequeued(concert_id).count()

    def _ahead(self, room: WaitingRoom, place: int) -> int:
        """Waiting fans in front of `place`: the place difference, counted exactly near the front."""
        ahead = max(0, place - room.served_position - 1)
        if ahead <= EXACT_AHEAD_WINDOW:
            ahead = (
                self._waiting(room.pk).filter(queue_position__gt=room.served_position, queue_position__lt=place).count()
            )
        return ahead

    def status(self, *, room: WaitingRoom, user_id: uuid.UUID, now: datetime.datetime) -> Ticket | None:
        token = self._live(room.pk, user_id).first()
        if token is None:
            return None
        if token.state == QueueToken.State.ADMITTED:
            return _ticket(token) if token.expired_at is not None and token.expired_at > now else None
        if token.queue_position is None:  # in the pre-queue
            # Its arrivals, not a COUNT of the pre-queue's rows: an upper bound (fans who left are in it) that
            # costs nothing, enough for spreading the opening's polls (queueing.services.polling), and a poll's
            # cost stays flat with the pre-queue's size.
            return _ticket(token, prequeue_size=room.prequeue_arrivals)
        # `room` was read before the token, so served_position is no newer than the token's state:
        # the difference is an upper bound of the waiting fans in front.
        return _ticket(token, ahead=self._ahead(room, token.queue_position))

    def admit(self, *, room: WaitingRoom, now: datetime.datetime, limit: int, active_seconds: int) -> AdmitResult:
        expired = self._end_ran_out(room.pk, now)
        if room.is_paused or limit <= 0:
            return AdmitResult(admitted=[], expired=expired)

        free = room.max_active - self._admitted_now(room.pk, now)
        count = min(limit, free)
        if count <= 0:
            return AdmitResult(admitted=[], expired=expired)
        batch = list(self._waiting(room.pk).select_for_update().order_by("queue_position")[:count])
        if not batch:
            return AdmitResult(admitted=[], expired=expired)
        expires_at = now + datetime.timedelta(seconds=active_seconds)
        QueueToken.objects.filter(pk__in=[t.pk for t in batch]).update(
            state=QueueToken.State.ADMITTED, admitted_at=now, expired_at=expires_at
        )
        for token in batch:
            token.state, token.admitted_at, token.expired_at = QueueToken.State.ADMITTED, now, expires_at
        last = batch[-1].queue_position
        assert last is not None  # _waiting() has places only
        room.served_position = max(room.served_position, last)
        room.save(update_fields=["served_position"])
        return AdmitResult(admitted=[_ticket(t) for t in batch], expired=expired)

    def touch(
        self,
        *,
        concert_id: uuid.UUID,
        user_id: uuid.UUID,
        now: datetime.datetime | None,
        active_seconds: int,
        max_lifetime_seconds: int,
    ) -> bool:
        # PostgreSQL's STATEMENT_TIMESTAMP() unless a time is injected: one clock for every app server.
        moment = Now() if now is None else Value(now, output_field=DateTimeField())
        live = QueueToken.objects.filter(
            concert_id=concert_id, user_id=user_id, state=QueueToken.State.ADMITTED, expired_at__gt=moment
        )
        slid = Least(
            moment + datetime.timedelta(seconds=active_seconds),
            F("admitted_at") + datetime.timedelta(seconds=max_lifetime_seconds),
        )
        # Liveness is checked in the UPDATE itself, so an admission ended (and its place given away) after
        # some earlier read is never revived. No write when it would move the end by less than a second
        # (a burst of page loads); then a plain read answers.
        if live.filter(expired_at__lte=slid - datetime.timedelta(seconds=1)).update(expired_at=slid):
            return True
        return live.exists()

    def end(self, *, concert_id: uuid.UUID, user_id: uuid.UUID, now: datetime.datetime, reason: str) -> Ticket | None:
        token = self._live(concert_id, user_id).select_for_update().first()
        if token is None:
            return None
        self._end_tokens([token], now=now, reason=reason)
        return _ticket(token)

    def counts(self, *, concert_id: uuid.UUID, now: datetime.datetime) -> tuple[int, int]:
        waiting = self._waiting(concert_id).count()
        return waiting, self._admitted_now(concert_id, now)
