"""The waiting room's status poll and page in process: CPU per request beside /hello/.

Sends requests through Django's whole stack (django.test.Client: every middleware, the production settings:
PostgreSQL through the psycopg pool, sessions in Redis written through to PostgreSQL, the Redis queue backend,
rate limits counted) and times each kind with time.process_time(), so the figures are this process's CPU per
request, without gunicorn and without the network. Kinds:

    hello            /hello/ (the yardstick: the middleware stack and one SELECT 1)
    poll (fast)      /concerts/<id>/queue/status/ for waiting fans holding their queue pass
    poll (fast, exempt) the same from an address the rate limits exempt, as bench/rush's yardstick sends it
    poll (full)      the same without the queue pass (the path every poll took before it)
    poll (pre-queue) the fast poll of fans in a pre-queue, before its draw
    room page        GET /concerts/<id>/queue/ for waiting fans
    concert page     GET /concerts/<id>/ for the same fans (one date, as bench/rush's yardstick)
    seat map         GET /dates/<id>/seats/ for admitted fans (one date of SEATS_PER_DATE seats)
    seat state (304) GET /dates/<id>/seats/state/, the open map's poll, with the ETag it had (nothing changed)

and the PostgreSQL queries and Redis commands each makes (counted on one request). Uses its own PostgreSQL
database (frontrow_poll_bench, created and migrated if missing; BENCH_DB names another), Redis db 9
(BENCH_REDIS_URL) under key prefixes of its own, deleted afterwards. Not a test: run it by hand.

    .venv/bin/python bench/poll_bench.py                 # 2,000 requests of each kind
    .venv/bin/python bench/poll_bench.py --requests 500 --fans 100
"""

import argparse
import datetime
import functools
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.test import Client

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("BENCH_DB", "frontrow_poll_bench")
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
PREFIX = "frontrow-pollbench"
EXEMPT_ADDRESS = "198.18.0.1"  # in bench/rush's yardstick range: counted against no rate limit
STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT", "/tmp/frontrow-poll-bench-static")


def configure() -> None:
    from bench.benchdb import setup_django

    setup_django(
        pg_server=PG_SERVER,
        database=BENCH_DB,
        redis_url=BENCH_REDIS,
        DJANGO_SETTINGS_MODULE="config.settings_production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="testserver",
        ALLOW_PLAIN_HTTP="true",
        QUEUE_BACKEND="redis",
        QUEUE_REDIS_PREFIX=f"{PREFIX}:queue",
        RATE_LIMIT_REDIS_PREFIX=f"{PREFIX}:ratelimit",
        CACHE_KEY_PREFIX=f"{PREFIX}:cache",
        # Every fan's polls count against the account limit as in a sale; the bench's one address does not
        # stand for thousands of fans, so its address limit is out of the way.
        RATE_LIMIT_QUEUE_STATUS="120,100000000,60",
        RATE_LIMIT_SEAT_MAP="60,100000000,60",
        RATE_LIMIT_SEAT_STATE="60,100000000,60",
        RATE_LIMIT_EXEMPT_NETWORKS=EXEMPT_ADDRESS,
        RQ_ASYNC="false",
        # A busy machine (the bench beside other work) must not open the Redis breaker mid-run.
        REDIS_SOCKET_TIMEOUT="10",
        QUEUE_CHALLENGE_DEFAULT="false",
        STATIC_ROOT=STATIC_ROOT,
    )
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest the pages' {% static %} reads


def cleanup() -> None:
    import redis

    from concerts.models import Concert

    Concert.objects.filter(title__startswith="Poll bench").delete()
    client = redis.Redis.from_url(BENCH_REDIS)
    for key in client.scan_iter(match=f"{PREFIX}:*", count=5_000):
        client.delete(key)
    client.close()


def fans(count: int) -> list[Any]:
    from django.utils import timezone

    from accounts.models import User

    emails = [f"poll-bench-{i:05d}@example.com" for i in range(count)]
    have = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
    User.objects.bulk_create(
        User(email=email, name="Bench fan", password="!", email_verified_at=timezone.now())
        for email in emails
        if email not in have
    )
    return list(User.objects.filter(email__in=emails).order_by("email"))


def concert(title: str, *, opens_in: datetime.timedelta, max_active: int = 1, dates: int = 0) -> Any:
    from django.utils import timezone

    from concerts.models import Concert
    from concerts.services import create_concert_date
    from queueing.models import WaitingRoom

    now = timezone.now()
    made = Concert.objects.create(
        title=title,
        start_time=now + datetime.timedelta(days=30),
        end_time=now + datetime.timedelta(days=30, hours=3),
        sale_opens_at=now + opens_in,
    )
    for offset in range(dates):
        create_concert_date(concert=made, starts_at=now + datetime.timedelta(days=30 + offset))
    # Admission unpaced: the bench admits its fans at once rather than at a sale's pace (queueing.services.pacing).
    WaitingRoom.objects.create(concert=made, max_active=max_active, admit_per_minute=1_000_000)
    return made


def clients(users: list[Any]) -> list["Client"]:
    from django.test import Client

    made = []
    for user in users:
        client = Client()
        client.force_login(user)
        made.append(client)
    return made


def timed(kinds: list[tuple[str, Callable[[int], Any]]], count: int, rounds: int) -> dict[str, float]:
    """CPU ms per request of each kind: `rounds` rounds, each sending count/rounds requests of every kind in turn,
    so a machine whose load changes during the run weighs on every kind alike; the median round per kind."""
    for _name, request in kinds:
        for i in range(min(50, count)):  # warm up: imports, templates, connections
            request(i)
    per_round = max(1, count // rounds)
    cpu: dict[str, list[float]] = {name: [] for name, _ in kinds}
    wall: dict[str, list[float]] = {name: [] for name, _ in kinds}
    for round_number in range(rounds):
        for name, request in kinds:
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            for i in range(round_number * per_round, (round_number + 1) * per_round):
                request(i)
            cpu[name].append((time.process_time() - started_cpu) / per_round * 1000)
            wall[name].append((time.perf_counter() - started_wall) / per_round * 1000)
    for name, _ in kinds:
        print(
            f"  {name:<20} {statistics.median(cpu[name]):7.3f} ms CPU  {statistics.median(wall[name]):7.3f} ms wall  "
            f"(median of {rounds} rounds of {per_round}; CPU {min(cpu[name]):.3f}..{max(cpu[name]):.3f})",
            flush=True,
        )
    return {name: statistics.median(values) for name, values in cpu.items()}


def counted(request: Callable[[], Any]) -> tuple[int, int]:
    """(PostgreSQL queries, Redis commands) of one request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from redis.connection import AbstractConnection

    commands = 0
    original = AbstractConnection.send_packed_command

    def counting(self: AbstractConnection, command: Any, check_health: Any = True) -> Any:
        nonlocal commands
        commands += 1
        return original(self, command, check_health)  # type: ignore[no-untyped-call]

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        with CaptureQueriesContext(connection) as queries:
            request()
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
    return len(queries), commands


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2_000, help="requests of each kind")
    parser.add_argument("--fans", type=int, default=200, help="waiting fans the polls are spread over")
    parser.add_argument("--rounds", type=int, default=10, help="rounds the requests of every kind alternate in")
    parser.add_argument("--profile", metavar="KIND", help="profile one kind (e.g. 'poll (fast)') instead")
    args = parser.parse_args()
    configure()
    from django.conf import settings

    from queueing import services

    cleanup()
    users = fans(args.fans + 1)
    on_sale = concert("Poll bench (on sale)", opens_in=datetime.timedelta(minutes=-1), dates=1)
    services.join(user=users[0], concert=on_sale)  # admitted: the room's one place is taken
    for user in users[1:]:
        services.join(user=user, concert=on_sale)
    prequeue = concert("Poll bench (pre-queue)", opens_in=datetime.timedelta(minutes=10))
    for user in users[1:]:
        services.join(user=user, concert=prequeue)
    seats = concert("Poll bench (seats)", opens_in=datetime.timedelta(minutes=-1), max_active=len(users), dates=1)
    for user in users[1:]:
        assert services.join(user=user, concert=seats).admitted
    seats_url = f"/dates/{seats.dates.get().pk}/seats/"
    waiting = clients(users[1:])
    prequeued = clients(users[1:])  # a client of its own: the test client keeps one cookie per name, any path
    bare = clients(users[1:])  # no queue pass: every poll takes the full path
    room_url = f"/concerts/{on_sale.pk}/queue/"
    status_url = f"/concerts/{on_sale.pk}/queue/status/"
    pre_status_url = f"/concerts/{prequeue.pk}/queue/status/"
    cookie = settings.QUEUE_PASS_COOKIE_NAME
    for client in waiting:
        assert client.get(room_url).status_code == 200
    for client in prequeued:
        assert client.get(f"/concerts/{prequeue.pk}/queue/").status_code == 200

    def poll_full(i: int) -> None:
        client = bare[i % len(bare)]
        if cookie:
            client.cookies.pop(cookie, None)
        assert client.get(status_url).status_code == 200

    def poll_fast(i: int) -> None:
        assert waiting[i % len(waiting)].get(status_url).status_code == 200

    def poll_exempt(i: int) -> None:  # as bench/rush's yardstick polls: from an address the rate limits exempt
        assert waiting[i % len(waiting)].get(status_url, REMOTE_ADDR=EXEMPT_ADDRESS).status_code == 200

    def poll_pre(i: int) -> None:
        assert prequeued[i % len(prequeued)].get(pre_status_url).status_code == 200

    def room_page(i: int) -> None:
        assert waiting[i % len(waiting)].get(room_url).status_code == 200

    def concert_page(i: int) -> None:
        assert waiting[i % len(waiting)].get(f"/concerts/{on_sale.pk}/").status_code == 200

    def seat_map(i: int) -> None:
        assert waiting[i % len(waiting)].get(seats_url).status_code == 200

    state_url = f"/dates/{seats.dates.get().pk}/seats/state/"
    first = waiting[0].get(state_url)
    assert first.status_code == 200, first.status_code
    state_etag = first["ETag"]

    def seat_state(i: int) -> None:
        assert waiting[i % len(waiting)].get(state_url, headers={"If-None-Match": state_etag}).status_code == 304

    def hello(i: int) -> None:
        assert waiting[i % len(waiting)].get("/hello/").status_code == 200

    kinds: list[tuple[str, Callable[[int], None]]] = [
        ("hello", hello),
        ("poll (fast)", poll_fast),
        ("poll (fast, exempt)", poll_exempt),
        ("poll (full)", poll_full),
        ("poll (pre-queue)", poll_pre),
        ("room page", room_page),
        ("concert page", concert_page),
        ("seat map", seat_map),
        ("seat state (304)", seat_state),
    ]
    print(f"\nCPU per request in process, {args.requests} requests of each kind, {args.fans} waiting fans:", flush=True)
    if args.profile:
        import cProfile
        import pstats

        request = dict(kinds)[args.profile]
        profiler = cProfile.Profile(time.process_time)  # CPU, not wall: waits on PostgreSQL or Redis are not ours
        profiler.runcall(lambda: [request(i) for i in range(args.requests)])
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(
            int(os.environ.get("BENCH_LINES", "45"))
        )
        return
    figures = timed(kinds, args.requests, args.rounds)
    hello_ms = figures["hello"]
    print("\nPer request: PostgreSQL queries, Redis commands; CPU against hello's:")
    for name, request in kinds:
        request(0)  # the room's mirror may have run out since: the first poll after that takes the full path
        queries, commands = counted(functools.partial(request, 0))
        print(f"  {name:<20} {queries:3d} queries  {commands:3d} Redis commands  {hello_ms / figures[name]:6.0%}")
    cleanup()


if __name__ == "__main__":
    main()
