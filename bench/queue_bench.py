"""Waiting-room benchmark: a rush of fans joins one concert's queue, then polls and admission batches; the
poll's cost from 10 to 100,000 fans waiting; and the pre-queue's draw of 100,000 entrants.

Three parts (--parts), each for each backend (database, redis).

rush: N fans join (through queueing.services.join, as the join view does),
then P status polls of random waiting fans (queueing.services.poll_place, what the status URL calls), then
admission batches of B, then P touches of random admitted fans (queueing.services.touch, what every gated
page calls). Prints joins/s, polls/s, admission batch times, touches/s, and the memory the queue takes:
bytes per waiting fan in Redis (MEMORY USAGE of the concert's keys), and in PostgreSQL (QueueToken and
QueueEntryHistory table + index size).

polls: a table of the status poll's cost (polls/s, CPU per poll of this process and of PostgreSQL, the Redis
script's own time) with 10, 100, 1,000, 10,000 and 100,000 fans waiting (--poll-sizes), each a drawn
pre-queue; and Redis bytes per pre-queue entrant and per drawn waiting fan.

draw: a pre-queue of 100,000 entrants (--draw-size), then the draw run as beat runs it, timed end to end and
split into the ordering, the backend and the history write (see bench/queue_scale.py).

It uses its own PostgreSQL database (frontrow_queue_bench, created and migrated if missing; BENCH_DB names
another) and Redis db 9 (BENCH_REDIS_URL) with its own key prefix, never anyone else's. Not a test: run it
by hand.

    .venv/bin/python bench/queue_bench.py                       # 100,000 fans, both backends, every part
    .venv/bin/python bench/queue_bench.py --fans 5000 --polls 1000 --backends redis
    .venv/bin/python bench/queue_bench.py --parts draw,polls --backends redis
"""

import argparse
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import uuid

    from accounts.models import User
    from concerts.models import Concert

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("BENCH_DB", "frontrow_queue_bench")
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
BENCH_PREFIX = "frontrow-bench:queue"

_Item = TypeVar("_Item")


def configure() -> None:
    from bench.benchdb import setup_django

    setup_django(
        pg_server=PG_SERVER,
        database=BENCH_DB,
        redis_url=BENCH_REDIS,
        QUEUE_REDIS_PREFIX=BENCH_PREFIX,
        RQ_ASYNC="false",
    )


def fans(count: int) -> list["User"]:
    from accounts.models import User

    existing = list(User.objects.filter(email__startswith="bench-fan-").order_by("email")[:count])
    if len(existing) < count:
        have = {u.email for u in existing}
        missing = [f"bench-fan-{i:07d}@example.com" for i in range(count)]
        User.objects.bulk_create(
            (User(email=email, name="Bench fan", password="!") for email in missing if email not in have),
            batch_size=5_000,
        )
        existing = list(User.objects.filter(email__startswith="bench-fan-").order_by("email")[:count])
    return existing


def fresh_concert(backend: str) -> "Concert":
    import datetime

    from django.utils import timezone

    from concerts.models import Concert
    from queueing.models import WaitingRoom

    now = timezone.now()
    concert = Concert.objects.create(
        title=f"Bench rush ({backend}) {now:%H:%M:%S}",
        start_time=now + datetime.timedelta(days=30),
        end_time=now + datetime.timedelta(days=30, hours=3),
        sale_opens_at=now - datetime.timedelta(minutes=1),
    )
    # Paused while the rush joins (otherwise the first max_active would be admitted at join); the
    # capacity and the admission rate are large so each admission batch is limited by the batch size alone.
    WaitingRoom.objects.create(concert=concert, max_active=1_000_000, admit_per_minute=2_000_000_000, is_paused=True)
    return concert


def cleanup(backend: str) -> None:
    import redis
    from django.db import connection

    from concerts.models import Concert
    from queueing.models import QueueEntryHistory, QueueToken

    Concert.objects.filter(title__startswith="Bench ").delete()  # cascades to tokens and history
    # The deleted rows' space back, as autovacuum would do between two sales: the dev server runs without
    # autovacuum, and a run that left 100,000 dead rows per table made the next one walk them all (after a
    # dozen runs the history was 1.6 GB and the draw's UPDATE took twice as long).
    with connection.cursor() as cursor:
        for model in (QueueEntryHistory, QueueToken):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
    if backend == "redis":
        client = redis.Redis.from_url(BENCH_REDIS)
        for key in client.scan_iter(match=f"{BENCH_PREFIX}:*", count=5_000):
            client.delete(key)
        client.close()


def in_threads(count: int, items: Sequence[_Item], work: Callable[[_Item], object]) -> float:
    from django.db import connection

    chunks = [items[i::count] for i in range(count)]
    errors: list[Exception] = []

    def run(chunk: Sequence[_Item]) -> None:
        try:
            for item in chunk:
                work(item)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def redis_bytes(concert: "Concert") -> tuple[int, int]:
    import redis

    client = redis.Redis.from_url(BENCH_REDIS)
    total = sum(
        client.memory_usage(key, samples=0) or 0 for key in client.scan_iter(match=f"{BENCH_PREFIX}:{{{concert.pk}}}:*")
    )
    used = client.info("memory")["used_memory"]
    client.close()
    return total, used


def postgres_bytes() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size('queueing_queuetoken'), pg_total_relation_size('queueing_queueentryhistory')"
        )
        tokens, history = cursor.fetchone() or (0, 0)
        return tokens, history


def admitted_user_ids(concert: "Concert") -> "Iterable[uuid.UUID]":
    import uuid

    from queueing.backends import get_backend
    from queueing.backends.redis import RedisQueueBackend
    from queueing.models import QueueToken

    backend = get_backend()
    if isinstance(backend, RedisQueueBackend):
        key = backend.key(concert.pk, "admitted")
        members = backend.client.zrange(key, 0, -1)
        return [uuid.UUID(member.decode() if isinstance(member, bytes) else str(member)) for member in members]
    return QueueToken.objects.filter(concert=concert, state=QueueToken.State.ADMITTED).values_list("user_id", flat=True)


def run(backend: str, args: argparse.Namespace) -> None:
    from django.conf import settings

    from queueing import services

    settings.QUEUE_BACKEND = backend
    cleanup(backend)
    users = fans(args.fans)
    concert = fresh_concert(backend)
    _, redis_before = redis_bytes(concert) if backend == "redis" else (0, 0)
    pg_before = postgres_bytes()
    print(f"\n== {backend} backend: {args.fans:,} fans, {args.threads} threads ==", flush=True)

    elapsed = in_threads(args.threads, users, lambda user: services.join(user=user, concert=concert))
    print(f"joins:      {args.fans / elapsed:10,.0f} /s   ({elapsed:.1f} s)", flush=True)

    if backend == "redis":
        keys_bytes, redis_after = redis_bytes(concert)
        print(
            f"redis:      {keys_bytes / args.fans:10,.1f} bytes per waiting fan (MEMORY USAGE of the queue keys; "
            f"used_memory grew {(redis_after - redis_before) / args.fans:,.1f} B/fan)"
        )
    tokens_bytes, history_bytes = (after - before for after, before in zip(postgres_bytes(), pg_before, strict=True))
    print(
        f"postgres:   {tokens_bytes / args.fans:10,.1f} bytes per fan in queueing_queuetoken, "
        f"{history_bytes / args.fans:,.1f} in queueing_queueentryhistory (tables + indexes)"
    )

    sample = random.Random(7).choices(users, k=args.polls)
    positions: list[int] = []

    def poll(user: "User") -> None:
        place = services.poll_place(user=user, concert=concert)
        if place is None:
            raise RuntimeError(f"{user} has no place in the queue")
        positions.append(place.position)

    elapsed = in_threads(args.threads, sample, poll)
    spread = f"positions {min(positions)}..{max(positions)}"
    print(f"polls:      {args.polls / elapsed:10,.0f} /s   ({elapsed:.1f} s; {spread})")

    single = time.perf_counter()
    for user in sample[:1_000]:
        services.poll_place(user=user, concert=concert)
    single = (time.perf_counter() - single) / min(1_000, len(sample)) * 1000
    print(f"poll time:  {single:10.2f} ms each, one thread")

    services.set_paused(concert=concert, paused=False)
    times: list[float] = []
    for _ in range(args.batches):
        started = time.perf_counter()
        admitted = services.admit_batch(concert=concert, limit=args.batch)
        times.append((time.perf_counter() - started) * 1000)
        assert admitted == args.batch, admitted
    print(
        f"admission:  {statistics.mean(times):10.1f} ms per batch of {args.batch} "
        f"(median {statistics.median(times):.1f}, max {max(times):.1f}; {args.batches} batches)"
    )
    admitted_ids = set(admitted_user_ids(concert))
    admitted_fans = [user for user in users if user.pk in admitted_ids]
    sample = random.Random(8).choices(admitted_fans, k=args.polls)

    def touch(user: "User") -> None:
        assert services.touch(user=user, concert=concert)

    elapsed = in_threads(args.threads, sample, touch)
    print(f"touches:    {args.polls / elapsed:10,.0f} /s   ({elapsed:.1f} s)")

    last = services.poll_place(user=users[-1], concert=concert)
    if last is None:
        raise RuntimeError("the last fan has no place in the queue")
    print(f"afterwards: the last fan is number {last.position:,}, eta {last.eta_seconds} s")
    cleanup(backend)


def run_polls(backend: str, args: argparse.Namespace) -> None:
    import datetime

    from django.conf import settings
    from django.utils import timezone

    from bench import queue_scale
    from queueing import services

    settings.QUEUE_BACKEND = backend
    # As if beat ran admission on time: a poll that finds admission overdue runs it, which is not the
    # poll's own cost (the room is paused, so no run would admit anyone anyway).
    settings.ADMIT_QUEUE_EVERY_SECONDS = 3600
    sizes = [int(size) for size in args.poll_sizes.split(",")]
    users = fans(max(sizes))
    print(f"\n== {backend} backend: status polls by fans waiting ({args.poll_count:,} polls each, one thread) ==")
    rows, memory = [], []
    for size in sizes:
        cleanup(backend)
        opening = timezone.now() + datetime.timedelta(seconds=30)
        concert = queue_scale.upcoming_concert(backend, "polls", opening=opening)
        queue_scale.fill_prequeue(concert, users[:size], opening=opening)
        before = queue_scale.queue_keys_bytes(concert) if backend == "redis" else {}
        draw = queue_scale.timed_draw(concert, at=opening + datetime.timedelta(seconds=1))
        after = queue_scale.queue_keys_bytes(concert) if backend == "redis" else {}
        services.admit_batch(concert=concert)  # paused: admits nobody, marks the run done
        figures = queue_scale.timed_polls(concert, users[:size], polls=args.poll_count, seed=size)
        rows.append(queue_scale.poll_row(figures) + f" {draw.wall:.2f} s |")
        if backend == "redis":
            memory.append((size, before, after))
        print(rows[-1], flush=True)
    print(queue_scale.POLL_HEADER + " draw |")
    print("|---" * 9 + "|")
    print("\n".join(rows))
    for size, before, after in memory:
        drawn = {name: after.get(name, 0) for name in ("waiting", "tokens", "receipts")}
        print(
            f"redis, {size:,} fans: {sum(before.values()) / size:,.1f} B per pre-queue entrant ({before}); "
            f"{sum(drawn.values()) / size:,.1f} B per drawn waiting fan ({drawn}) "
            f"+ {after.get('draw', 0) / size:,.1f} B per fan in the kept draw record"
        )
    cleanup(backend)


def run_draw(backend: str, args: argparse.Namespace) -> None:
    import datetime

    from django.conf import settings
    from django.utils import timezone

    from bench import queue_scale

    settings.QUEUE_BACKEND = backend
    cleanup(backend)
    users = fans(args.draw_size)
    opening = timezone.now() + datetime.timedelta(minutes=2)
    concert = queue_scale.upcoming_concert(backend, "draw", opening=opening)
    print(f"\n== {backend} backend: the draw of a {args.draw_size:,}-entrant pre-queue ==", flush=True)
    started = time.perf_counter()
    join_rate = queue_scale.fill_prequeue(concert, users, opening=opening)
    print(
        f"pre-queue:  {args.draw_size:,} entrants in {time.perf_counter() - started:.1f} s "
        f"(the first {queue_scale.THROUGH_JOIN} through services.join: {join_rate:,.0f} joins/s)",
        flush=True,
    )
    figures = queue_scale.timed_draw(concert, at=opening)
    print(queue_scale.describe_draw(figures))
    print("verify_draw: agrees")
    cleanup(backend)


PARTS = {"rush": run, "polls": run_polls, "draw": run_draw}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--fans", type=int, default=100_000)
    parser.add_argument("--polls", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--backends", default="database,redis")
    parser.add_argument("--parts", default="rush,polls,draw", help="any of rush, polls, draw (comma-separated)")
    parser.add_argument("--poll-sizes", default="10,100,1000,10000,100000", help="fans waiting, per row")
    parser.add_argument("--poll-count", type=int, default=2_000, help="polls per row")
    parser.add_argument("--draw-size", type=int, default=100_000, help="pre-queue entrants drawn")
    args = parser.parse_args()
    configure()
    for part in args.parts.split(","):
        for backend in args.backends.split(","):
            PARTS[part.strip()](backend.strip(), args)


if __name__ == "__main__":
    main()
