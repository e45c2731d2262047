"""What every queue workflow shares: the QueueEntryHistory row of each visit (entry, admission, exit), written
in the caller's transaction for both backends, and the catch-up of what Redis changed but the history missed.
"""

import datetime
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Func, IntegerField, Value, When

from accounts.models import User
from concerts.models import Concert

from ..backends import DrawnPlaces, QueueBackend, Ticket
from ..exceptions import QueueUnavailable
from ..models import ExitReason, QueueEntryHistory, WaitingRoom

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

logger = logging.getLogger(__name__)

EXIT_PAID = ExitReason.PAID
EXIT_LEFT = ExitReason.LEFT
EXIT_EXPIRED = ExitReason.EXPIRED
EXIT_REMOVED = ExitReason.REMOVED  # by staff (QueueEntryHistory.removed_by, exit_note)


def seconds_between(start: datetime.datetime, end: datetime.datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def record_entry(
    *, user: User, concert: Concert, ticket: Ticket, client_ip: str | None = None, presale_id: uuid.UUID | None = None
) -> None:
    QueueEntryHistory.objects.create(
        user=user,
        concert=concert,
        presale_id=presale_id,
        token=ticket.token,
        queue_position=ticket.sequence,
        receipt=ticket.receipt,
        client_ip=client_ip,
        entered_at=ticket.entered_at,
        admitted_at=ticket.admitted_at,
        was_admitted=ticket.is_admitted,
        duration_seconds=0 if ticket.is_admitted else None,
    )


class SecondsSince(Func):
    """Whole seconds from a datetime column to a moment, >= 0, computed in the database (one UPDATE for
    a whole admission batch instead of a CASE per row)."""

    output_field = IntegerField()

    def __init__(self, column: F, moment: datetime.datetime) -> None:
        super().__init__(Value(moment, output_field=DateTimeField()), column)

    def as_postgresql(self, compiler: "SQLCompiler", connection: "BaseDatabaseWrapper", **extra: Any) -> "_AsSqlType":
        template = "GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (%(expressions)s))))::integer"
        return self.as_sql(compiler, connection, template=template, arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler: "SQLCompiler", connection: "BaseDatabaseWrapper", **extra: Any) -> "_AsSqlType":
        # julianday() is a float of days: round to milliseconds before flooring to whole seconds.
        template = "MAX(0, CAST(ROUND((julianday(%(expressions)s)) * 86400000) AS INTEGER) / 1000)"
        return self.as_sql(compiler, connection, template=template, arg_joiner=") - julianday(", **extra)


def record_draw(places: DrawnPlaces) -> None:
    """Write the drawn places, (token, place) pairs, into the pre-queue entries' history rows (only rows without
    one: idempotent).

    On PostgreSQL one UPDATE joined to the pairs, so a draw of 100,000 is one statement. The pairs come in
    arrival order (QueueBackend.draw), the rows' own order, which the UPDATE then follows."""
    if not places:
        return
    if connection.vendor == "postgresql":
        table = QueueEntryHistory._meta.db_table
        # Each array as the text of one array literal, a single parameter: psycopg adapting two lists of
        # 100,000 items one by one took ~0.35 s of this process's CPU. UUIDs and integers need no quoting
        # inside it, and a token that is not a UUID fails the cast, and with it the whole statement.
        token_array = "{" + ",".join(str(token) for token, _ in places) + "}"
        place_array = "{" + ",".join(str(int(place)) for _, place in places) + "}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS h SET queue_position = d.place "  # noqa: S608 -- the table name is ours
                "FROM unnest(%s::uuid[], %s::bigint[]) AS d(token, place) "
                "WHERE h.token = d.token AND h.queue_position IS NULL",
                [token_array, place_array],
            )
        return
    by_token = {uuid.UUID(str(token)): place for token, place in places}
    tokens = list(by_token)
    for start in range(0, len(tokens), 500):
        batch = tokens[start : start + 500]
        rows = list(QueueEntryHistory.objects.filter(token__in=batch, queue_position__isnull=True))
        for row in rows:
            row.queue_position = by_token[row.token]
        QueueEntryHistory.objects.bulk_update(rows, ["queue_position"])


def record_admissions(tickets: Sequence[Ticket], *, now: datetime.datetime) -> int:
    """Mark the history rows of a batch admitted at `now`, in one UPDATE; returns the rows marked. (A row
    whose exit was written first, when catching up, keeps its whole duration.)"""
    if not tickets:
        return 0
    return QueueEntryHistory.objects.filter(token__in=[t.token for t in tickets], admitted_at__isnull=True).update(
        admitted_at=now,
        was_admitted=True,
        duration_seconds=Case(
            When(exited_at__isnull=True, then=SecondsSince(F("entered_at"), now)),
            default=F("duration_seconds"),
            output_field=IntegerField(),
        ),
    )


def record_exits(tickets: Sequence[Ticket], *, now: datetime.datetime, reason: str) -> None:
    """Close the history rows of ended tickets. An admission that ran out exits when it ran out."""
    if not tickets:
        return
    if reason != EXIT_EXPIRED or all(t.expires_at is None or t.expires_at >= now for t in tickets):
        # One exit moment for all (a payment, a leave, staff): one UPDATE, no read of the rows first.
        QueueEntryHistory.objects.filter(token__in=[t.token for t in tickets], exited_at__isnull=True).update(
            exited_at=now, exit_reason=reason, duration_seconds=SecondsSince(F("entered_at"), now)
        )
        return
    by_token = {t.token: t for t in tickets}
    rows = list(QueueEntryHistory.objects.filter(token__in=by_token, exited_at__isnull=True))
    for row in rows:
        ticket = by_token[row.token]
        exited_at = now
        if reason == EXIT_EXPIRED and ticket.expires_at is not None:
            exited_at = min(now, ticket.expires_at)
        row.exited_at = exited_at
        row.exit_reason = reason
        row.duration_seconds = seconds_between(row.entered_at, exited_at)
    QueueEntryHistory.objects.bulk_update(rows, ["exited_at", "exit_reason", "duration_seconds"], batch_size=500)


def forget_when_committed(
    backend: QueueBackend, concert_id: uuid.UUID, *, admitted: Sequence[Ticket] = (), exited: Sequence[Ticket] = ()
) -> None:
    """Once the history rows of these admissions and ends are committed, the backend drops its notes of
    them (Redis; see catch_up_history). If that fails, the next admission run does it."""
    if backend.transactional or not (admitted or exited):
        return

    def forget() -> None:
        try:
            backend.history_written(concert_id=concert_id, admitted=admitted, exited=exited)
        except QueueUnavailable:
            logger.warning("queue %s: backend unavailable, history notes left for the next run", concert_id)

    transaction.on_commit(forget, robust=True)


def catch_up_history(room: WaitingRoom, backend: QueueBackend) -> int:
    """Write into QueueEntryHistory the admissions and ends the backend made but the history missed.

    Redis keeps its change when the history write after it fails (or the process dies in between); its
    scripts note every admission and end in the same atomic step, and this writes what is still noted:
    admissions first, then ends, each only on rows that do not show it yet, so it is idempotent and a
    normal write racing it writes the same values. Runs at the start of every admission run, under the
    room's lock. Returns the number of admissions written (for the room's admitted_total).
    """
    notes = backend.unwritten_history(concert_id=room.pk)
    if not notes:
        return 0
    admissions = [note.ticket for note in notes if note.exited_at is None]
    ends = {note.ticket.token: note for note in notes if note.exited_at is not None}
    written = 0
    by_time: dict[datetime.datetime, list[Ticket]] = {}
    for ticket in admissions:
        if ticket.admitted_at is not None:  # always, for an admission's note
            by_time.setdefault(ticket.admitted_at, []).append(ticket)
    for admitted_at, tickets in by_time.items():
        written += record_admissions(tickets, now=admitted_at)
    rows = list(QueueEntryHistory.objects.filter(token__in=ends, exited_at__isnull=True))
    for row in rows:
        note = ends[row.token]
        assert note.exited_at is not None  # `ends` holds the notes of ends only
        if row.admitted_at is None and note.ticket.admitted_at is not None:
            row.admitted_at, row.was_admitted = note.ticket.admitted_at, True
            written += 1
        row.exited_at, row.exit_reason = note.exited_at, note.exit_reason
        row.duration_seconds = seconds_between(row.entered_at, note.exited_at)
    fields = ["admitted_at", "was_admitted", "exited_at", "exit_reason", "duration_seconds"]
    QueueEntryHistory.objects.bulk_update(rows, fields, batch_size=500)
    if written or rows:
        logger.warning("queue %s: history caught up with %d admissions and %d ends", room.pk, written, len(rows))
    # An admission's note is forgotten only once its row shows it (or its end's note settles the row): a fan
    # admitted before their join's row committed has no row yet, and the next run must still find the note.
    shown = set(
        QueueEntryHistory.objects.filter(
            token__in=[ticket.token for ticket in admissions], admitted_at__isnull=False
        ).values_list("token", flat=True)
    )
    settled = [ticket for ticket in admissions if ticket.token in shown or ticket.token in ends]
    forget_when_committed(backend, room.pk, admitted=settled, exited=[note.ticket for note in ends.values()])
    return written
