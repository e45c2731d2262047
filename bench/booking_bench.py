"""Booking benchmark: N fans each hold a seat and pay for it, spread over D dates, from W threads at once.

Every fan goes through booking.services as the hold and checkout views do: pick a random seat, hold it
(on "seat taken", read the seat map and pick a random free seat), then pay with a fresh idempotency key for
exactly the holds it made (the reservation ids a checkout page shows).
With the defaults (2,000 fans, 40 dates of 50 seats) every seat ends up sold, so the last fans of each
date fight over the last seats. Prints fans/s, service calls/s and p50/p99 latency of hold, pay and the
whole hold+pay, then checks that nothing was sold twice and every wallet reconciles.

The confirmation e-mail that follows each payment is enqueued to RQ as in production (Redis db 2 by
default, BENCH_REDIS_URL to change it) and the queued jobs are dropped at the end; nothing sends them.
It uses its own PostgreSQL database (frontrow_bench or BENCH_DB, created and migrated if missing, flushed at each run)
and never anyone else's. Not a test: run it by hand.

    .venv/bin/python bench/booking_bench.py
    .venv/bin/python bench/booking_bench.py --fans 500 --dates 10 --workers 4
"""

import argparse
import datetime
import os
import queue
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accounts.models import User
    from concerts.models import ConcertDate

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("BENCH_DB", "frontrow_bench")
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
START_BALANCE = 1_000_000

# What each fan's booking took, per step (seconds), and what went wrong.
Stats = dict[str, list[Any]]


def configure() -> None:
    from bench.benchdb import setup_django

    setup_django(
        pg_server=PG_SERVER,
        database=BENCH_DB,
        redis_url=BENCH_REDIS,
        QUEUE_BACKEND="database",
        RQ_ASYNC="true",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    from django.core.management import call_command

    call_command("flush", verbosity=0, interactive=False)
    drop_queued_jobs()


def drop_queued_jobs() -> int:
    import django_rq

    dropped: int = django_rq.get_queue("default").empty()  # type: ignore[no-untyped-call]  # rq left it unannotated
    return dropped


def prepare(fan_count: int, date_count: int) -> tuple[list["User"], list["ConcertDate"]]:
    """Fans with a funded wallet (their top-up on the ledger) and one concert with `date_count` dates."""
    from django.utils import timezone

    from accounts.models import User
    from concerts.models import Concert
    from concerts.services import create_concert_date
    from wallet.models import ChargeHistory

    now = timezone.now()
    fans = User.objects.bulk_create(
        User(email=f"bench-fan-{i:06d}@example.com", name="Bench fan", password="!", balance=START_BALANCE)
        for i in range(fan_count)
    )
    ChargeHistory.objects.bulk_create(
        ChargeHistory(user=fan, amount=START_BALANCE, status=ChargeHistory.Status.SUCCESS, charged_at=now)
        for fan in fans
    )
    concert = Concert.objects.create(title="Bench concert", sale_opens_at=now - datetime.timedelta(minutes=1))
    first = now + datetime.timedelta(days=30)
    dates = [
        create_concert_date(concert=concert, starts_at=first + datetime.timedelta(days=i)) for i in range(date_count)
    ]
    for date in dates:
        date.concert = concert
    return fans, dates


def book(fan: "User", date: "ConcertDate", stats: Stats, rng: random.Random) -> None:
    """Hold one seat (retrying on "seat taken" with a free seat from the seat map), then pay for it."""
    from booking import selectors, services
    from booking.exceptions import SeatTaken

    started = time.perf_counter()
    seat = rng.randint(1, 50)
    while True:
        t = time.perf_counter()
        try:
            held = services.hold_seats(user=fan, concert_date=date, seat_numbers=[seat])
            stats["hold"].append(time.perf_counter() - t)
            break
        except SeatTaken:
            stats["hold_refused"].append(time.perf_counter() - t)
            free = [e.number for e in selectors.seat_map(concert_date=date, user=fan) if e.is_available]
            if not free:
                stats["sold_out"].append(1)
                return
            seat = rng.choice(free)
    t = time.perf_counter()
    # As checkout does: pay exactly the holds the page showed.
    services.pay(user=fan, concert_date=date, idempotency_key=uuid.uuid4().hex, reservation_ids=[r.pk for r in held])
    now = time.perf_counter()
    stats["pay"].append(now - t)
    stats["total"].append(now - started)


def run(fans: Sequence["User"], dates: Sequence["ConcertDate"], workers: int) -> tuple[Stats, float]:
    from django.db import connection

    work: queue.Queue[tuple[User, ConcertDate]] = queue.Queue()
    order = list(range(len(fans)))
    random.Random(1).shuffle(order)
    for i in order:
        work.put((fans[i], dates[i % len(dates)]))
    stats: Stats = {"hold": [], "hold_refused": [], "pay": [], "total": [], "sold_out": [], "errors": []}
    lock = threading.Lock()

    def worker(index: int) -> None:
        rng = random.Random(index)
        local: Stats = {key: [] for key in stats}
        try:
            while True:
                try:
                    fan, date = work.get_nowait()
                except queue.Empty:
                    break
                try:
                    book(fan, date, local, rng)
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    local["errors"].append(repr(exc))
        finally:
            connection.close()
            with lock:
                for key, values in local.items():
                    stats[key].extend(values)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats, time.perf_counter() - started


def ms(values: Sequence[float], q: int) -> str:
    if not values:
        return "-"
    if q == 50:
        return f"{statistics.median(values) * 1000:.1f}"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[q - 1] * 1000:.1f}"


def verify(fan_count: int) -> tuple[int, int, int]:
    from django.db.models import Count

    from booking.models import Reservation
    from wallet.selectors import unreconciled_wallets

    doubled = (
        Reservation.objects.filter(status__in=Reservation.LIVE_STATUSES)
        .values("seat")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    confirmed = Reservation.objects.filter(status="CONFIRMED").count()
    mismatches = len(unreconciled_wallets())
    return doubled, confirmed, mismatches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fans", type=int, default=2_000)
    parser.add_argument("--dates", type=int, default=40)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    configure()
    fans, dates = prepare(args.fans, args.dates)
    stats, elapsed = run(fans, dates, args.workers)
    doubled, confirmed, mismatches = verify(args.fans)
    queued = drop_queued_jobs()

    calls = len(stats["hold"]) + len(stats["hold_refused"]) + len(stats["pay"])
    print(f"booking bench: {args.fans} fans, {args.dates} dates x 50 seats, {args.workers} workers, PostgreSQL")
    print(f"  wall time           {elapsed:.2f} s")
    print(f"  fans booked         {len(stats['total'])} ({len(stats['total']) / elapsed:.1f} hold+pay per second)")
    print(f"  service calls       {calls} ({calls / elapsed:.1f} per second; {len(stats['hold_refused'])} seat-taken)")
    print("  latency (ms)        p50      p99")
    for key in ("hold", "hold_refused", "pay", "total"):
        print(f"    {key:<16}{ms(stats[key], 50):>8} {ms(stats[key], 99):>8}")
    print(f"  sold out / errors   {len(stats['sold_out'])} / {len(stats['errors'])}")
    for error in stats["errors"][:5]:
        print(f"    {error}")
    print(f"  confirmation e-mails enqueued to RQ (then dropped): {queued}")
    print(f"  check: {confirmed} confirmed, {doubled} seats sold twice, {mismatches} wallets off the ledger")
    if doubled or mismatches or stats["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
