"""The waiting room at 100,000 fans (bench/queue_bench.py's `polls` and `draw` parts).

polls: for each size (10 ... 100,000), a concert whose pre-queue of that many entrants has been drawn, so
that many fans wait with places 1..n; then single-threaded status polls of random waiting fans
(queueing.services.poll_place, the status URL's full path), with the CPU each poll costs this process and
its PostgreSQL backend, Redis's own time for the status script's lookup, and (Redis) the same polls through
the fast path the status URL takes with a queue pass (queueing.services.poll_quickly). "Flat" reads down the
table.

draw: a pre-queue of 100,000 entrants, then queueing.services.run_draw timed end to end (what beat or the
first poll after the opening runs: the room's lock, the backend's draw, the history's places, the commit),
split into the Python ordering (HMAC and sort), the PostgreSQL history write, the backend's own work (Redis:
the staging scripts, on a thread of their own while the history is written, and the commit; database: the
QueueToken update) and the rest; afterwards queueing.selectors.verify_draw must agree.

Fixtures: the first entrants go through queueing.services.join; the rest are written as join writes them
(QueueEntryHistory rows by COPY, and the backend's pre-queue entries: QueueToken rows by COPY, or the Redis
hashes by pipeline), so a 100,000-entrant pre-queue takes seconds, not minutes. The draw and verify_draw
then treat both kinds alike, which checks the fixture.
"""

import datetime
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accounts.models import User
    from concerts.models import Concert

# Entrants that go through queueing.services.join before the bulk rest (checks the fixture's format).
THROUGH_JOIN = 100
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def postgres_backend_cpu() -> float:
    """CPU seconds this connection's PostgreSQL backend process has used (same machine: /proc)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    assert row is not None
    with open(f"/proc/{row[0]}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def upcoming_concert(backend: str, label: str, *, opening: datetime.datetime) -> "Concert":
    """A concert whose sale opens at `opening`, with a paused room (so the drawn places stay waiting)."""
    from concerts.models import Concert
    from queueing.models import WaitingRoom

    concert = Concert.objects.create(
        title=f"Bench {label} ({backend}) {datetime.datetime.now():%H:%M:%S}",
        start_time=opening + datetime.timedelta(days=30),
        end_time=opening + datetime.timedelta(days=30, hours=3),
        sale_opens_at=opening,
    )
    WaitingRoom.objects.create(concert=concert, max_active=1_000_000, is_paused=True)
    return concert


def fill_prequeue(concert: "Concert", users: Sequence["User"], *, opening: datetime.datetime) -> float:
    """Put `users` in the concert's pre-queue, in order; returns the joins/s of the first THROUGH_JOIN.

    The first THROUGH_JOIN join through queueing.services.join; the rest get the next arrival numbers and
    exactly the rows and entries such a join makes (the history row; the backend's pre-queue entry)."""
    from django.db import connection, transaction

    from queueing import services
    from queueing.backends import get_backend
    from queueing.backends.redis import RedisQueueBackend, _us
    from queueing.draw import receipt_for
    from queueing.models import QueueEntryHistory, QueueToken, WaitingRoom

    start = opening - datetime.timedelta(minutes=20)
    joined = users[:THROUGH_JOIN]
    began = time.perf_counter()
    for i, user in enumerate(joined):
        assert services.join(user=user, concert=concert, now=start + datetime.timedelta(milliseconds=i)).prequeued
    join_rate = len(joined) / max(time.perf_counter() - began, 1e-9)
    rest = users[THROUGH_JOIN:]
    if not rest:
        return join_rate

    entries = []  # (user id, token, receipt, entered at)
    for i, user in enumerate(rest, start=len(joined)):
        entered = start + datetime.timedelta(milliseconds=i)
        entries.append((user.pk, uuid.uuid4(), receipt_for(i + 1), entered))
    history = QueueEntryHistory._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        copy_sql = (
            f"COPY {history} (id, user_id, concert_id, token, receipt, entered_at, was_admitted, exit_reason, "
            "exit_note) FROM STDIN"
        )
        with cursor.cursor.copy(copy_sql) as copy:
            for user_id, token, receipt, entered in entries:
                copy.write_row((uuid.uuid4(), user_id, concert.pk, token, receipt, entered, False, "", ""))
        backend = get_backend()
        if isinstance(backend, RedisQueueBackend):
            pipe = backend.client.pipeline(transaction=False)
            for chunk in range(0, len(entries), 5_000):
                part = entries[chunk : chunk + 5_000]
                pipe.hset(
                    backend.key(concert.pk, "pre"),
                    mapping={str(u): f"{t}|{r}|{_us(e)}" for u, t, r, e in part},
                )
                pipe.hset(backend.key(concert.pk, "receipts"), mapping={str(u): r for u, t, r, e in part})
            pipe.set(backend.key(concert.pk, "preseq"), len(users))
            pipe.execute()
        else:
            tokens = QueueToken._meta.db_table
            copy_sql = f"COPY {tokens} (token, user_id, concert_id, receipt, state, issued_at, end_reason) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for user_id, token, receipt, entered in entries:
                    copy.write_row((token, user_id, concert.pk, receipt, QueueToken.State.WAITING, entered, ""))
            WaitingRoom.objects.filter(pk=concert.pk).update(prequeue_arrivals=len(users))
    return join_rate


@dataclass
class Probe:
    """Wall seconds spent inside the wrapped functions, by label."""

    spent: dict[str, float] = field(default_factory=dict)

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[label] = self.spent.get(label, 0.0) + time.perf_counter() - began

        return timed


@contextmanager
def probed_draw() -> Iterator[Probe]:
    """Time the draw's parts without touching the code: wrap the ordering, the backend's draw (and the Redis
    script inside it) and the history write where run_draw looks them up, for the duration."""
    from queueing.backends import database as database_backend
    from queueing.backends import get_backend
    from queueing.backends import redis as redis_backend
    from queueing.services import draws

    probe = Probe()
    backend = get_backend()
    saved: list[tuple[object, str, object]] = []

    def patch(owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)
        saved.append((owner, name, original if name in vars(owner) else None))
        setattr(owner, name, probe.wrap(label, original))

    patch(redis_backend, "draw_order", "ordering")
    patch(database_backend, "draw_order", "ordering")
    patch(backend, "draw", "backend")
    if isinstance(backend, redis_backend.RedisQueueBackend):
        patch(backend, "_draw_stage", "staging")
        patch(backend, "_draw_commit", "commit")
    patch(draws, "record_draw", "history")
    try:
        yield probe
    finally:
        for owner, name, original in reversed(saved):
            if original is None:
                delattr(owner, name)  # back to the class's method
            else:
                setattr(owner, name, original)


def redis_cpu() -> float:
    from queueing.backends import get_backend
    from queueing.backends.redis import RedisQueueBackend

    backend = get_backend()
    if not isinstance(backend, RedisQueueBackend):
        return 0.0
    info = backend.client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


@dataclass
class DrawFigures:
    size: int
    wall: float
    python_cpu: float
    postgres_cpu: float
    redis_cpu: float  # the whole Redis server's, so anyone else's commands in that time too
    parts: dict[str, float]


def timed_draw(concert: "Concert", *, at: datetime.datetime) -> DrawFigures:
    """Run the concert's draw as beat would, timed; check it with verify_draw."""
    from queueing import services
    from queueing.models import WaitingRoom
    from queueing.selectors import verify_draw

    redis_before, pg_before, cpu_before = redis_cpu(), postgres_backend_cpu(), time.process_time()
    began = time.perf_counter()
    with probed_draw() as probe:
        assert services.run_draw(concert=concert, now=at)
    wall = time.perf_counter() - began
    figures = DrawFigures(
        size=WaitingRoom.objects.get(pk=concert.pk).draw_size,
        wall=wall,
        python_cpu=time.process_time() - cpu_before,
        postgres_cpu=postgres_backend_cpu() - pg_before,
        redis_cpu=redis_cpu() - redis_before,
        parts=probe.spent,
    )
    problems = verify_draw(concert)
    if problems:
        raise RuntimeError("verify_draw disagrees: " + "; ".join(problems[:5]))
    return figures


def describe_draw(figures: DrawFigures) -> str:
    """One line: the wall time, its parts and the CPU each process spent. The backend's time includes the
    history write (it calls it); Redis stages its places on a thread of its own meanwhile."""
    parts = figures.parts
    ordering, backend, history = (parts.get(name, 0.0) for name in ("ordering", "backend", "history"))
    if "commit" in parts:
        split = (
            f"ordering {ordering:.2f} s, history {history:.2f} s with the Redis staging alongside "
            f"({parts.get('staging', 0.0):.2f} s), Redis commit {parts['commit']:.2f} s, "
            f"the rest of the backend {backend - ordering - history - parts['commit']:.2f} s"
        )
    else:
        split = (
            f"ordering {ordering:.2f} s, QueueToken places {backend - ordering - history:.2f} s, "
            f"history {history:.2f} s"
        )
    return (
        f"draw of {figures.size:,}: {figures.wall:.2f} s ({split}; lock, room and commit "
        f"{figures.wall - backend:.2f} s). CPU: this process {figures.python_cpu:.2f} s, its PostgreSQL backend "
        f"{figures.postgres_cpu:.2f} s, the Redis server {figures.redis_cpu:.2f} s"
    )


def queue_keys_bytes(concert: "Concert") -> dict[str, int]:
    """MEMORY USAGE of each of the concert's Redis keys, by name."""
    from queueing.backends import get_backend
    from queueing.backends.redis import RedisQueueBackend

    backend = get_backend()
    assert isinstance(backend, RedisQueueBackend)
    sizes = {}
    for key in backend.client.scan_iter(match=backend.key(concert.pk, "*"), count=1_000):
        name = key.decode().rsplit(":", 1)[1]
        sizes[name] = int(backend.client.memory_usage(key, samples=0) or 0)
    return sizes


def status_script_seconds(concert: "Concert", users: Sequence["User"]) -> float:
    """Redis's own time for the status script's lookup of one fan (queueing.backends.redis.FIND: HGETs, ZSCORE,
    ZRANK), timed by Redis's clock inside one script that looks up every fan of `users` in turn, so neither
    the round trip nor the client's parsing (nor anyone else's commands) are counted."""
    from queueing.backends import get_backend
    from queueing.backends.redis import FIND, RedisQueueBackend

    backend = get_backend()
    assert isinstance(backend, RedisQueueBackend)
    timing = FIND + (
        "local t0 = redis.call('TIME')\n"
        "for i = 1, #ARGV do find(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[i]) end\n"
        "local t1 = redis.call('TIME')\n"
        "return (t1[1] - t0[1]) * 1000000 + (t1[2] - t0[2])\n"
    )
    keys = [backend.key(concert.pk, name) for name in ("waiting", "admitted", "tokens", "pre", "receipts")]
    micros = backend.client.register_script(timing)(keys=keys, args=[str(user.pk) for user in users])
    return int(micros) / 1_000_000 / len(users)


@dataclass
class PollFigures:
    waiting: int
    polls: int
    wall: float
    python_cpu: float
    postgres_cpu: float
    script: float | None
    spread: tuple[int, int]
    fast_cpu: float | None = None  # this process's CPU for the same polls through the status URL's fast path
    fast_share: float = 0.0  # the share of them the fast path answered (the rest went on to poll_place)


def timed_polls(concert: "Concert", users: Sequence["User"], *, polls: int, seed: int) -> PollFigures:
    """`polls` status polls of random waiting fans, one thread, with the CPU they cost."""
    from queueing import services

    sample = random.Random(seed).choices(list(users), k=polls)
    for user in sample[:50]:  # warm the connections and the script cache
        services.poll_place(user=user, concert=concert)
    positions = []
    pg_before, cpu_before = postgres_backend_cpu(), time.process_time()
    began = time.perf_counter()
    for user in sample:
        status = services.poll_place(user=user, concert=concert)
        if status is None or status.admitted or status.prequeued:
            raise RuntimeError(f"{user} is not waiting with a place: {status}")
        positions.append(status.position)
    wall = time.perf_counter() - began
    python_cpu = time.process_time() - cpu_before
    postgres_cpu = postgres_backend_cpu() - pg_before
    from queueing.backends import get_backend

    figures = PollFigures(
        waiting=len(users),
        polls=polls,
        wall=wall,
        python_cpu=python_cpu,
        postgres_cpu=postgres_cpu,
        script=None,
        spread=(min(positions), max(positions)),
    )
    if get_backend().name == "redis":
        figures.script = status_script_seconds(concert, sample)
        figures.fast_cpu, figures.fast_share = fast_polls(concert, sample)
    return figures


def fast_polls(concert: "Concert", sample: Sequence["User"]) -> tuple[float, float]:
    """The same polls as the status URL answers them with a queue pass: queueing.services.poll_quickly (one
    Redis script, no query), and poll_place when it cannot answer (e.g. the room's mirror ran out). Returns
    this process's CPU seconds per poll and the share the fast path answered."""
    from queueing import services

    quick = 0
    cpu_before = time.process_time()
    for user in sample:
        answer = services.poll_quickly(concert_id=concert.pk, user_id=user.pk)
        if answer is None:
            services.poll_place(user=user, concert=concert)  # and it writes the mirror again
        else:
            quick += 1
    return (time.process_time() - cpu_before) / len(sample), quick / len(sample)


POLL_HEADER = (
    "| waiting | polls/s (1 thread) | ms per poll | this process CPU µs/poll | PostgreSQL CPU µs/poll "
    "| Redis time per status lookup µs | fast path: CPU µs/poll (answered) | positions polled |"
)


def poll_row(figures: PollFigures) -> str:
    per = 1_000_000 / figures.polls
    script = f"{figures.script * 1_000_000:.0f}" if figures.script is not None else "-"
    fast = "-"
    if figures.fast_cpu is not None:
        fast = f"{figures.fast_cpu * 1_000_000:,.0f} ({figures.fast_share:.0%})"
    return (
        f"| {figures.waiting:,} | {figures.polls / figures.wall:,.0f} | {figures.wall / figures.polls * 1000:.2f} "
        f"| {figures.python_cpu * per:,.0f} | {figures.postgres_cpu * per:,.0f} | {script} | {fast} "
        f"| {figures.spread[0]:,}..{figures.spread[1]:,} |"
    )
