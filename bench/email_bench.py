"""Confirmation e-mail benchmark: the CPU one booking confirmation costs the RQ worker, in total and per phase.

Makes N paid checkouts of 1 or 2 seats (through booking.services, half booked in Korean, half in English),
then runs the RQ job function (booking.jobs.send_booking_confirmation) for each of their owed e-mails in this
process, one after another, as the worker does. Prints the CPU time per e-mail (time.process_time: this
process only; PostgreSQL's own CPU is not in it) and how it splits into phases, each counted without the
phases nested inside it:

    SQL            the database driver's execute (connection.execute_wrapper) and the query count
    ticket codes   booking.tickets.ticket_code (signing)
    QR codes       booking.tickets.ticket_qr_svg
    templates      rendering the subject, plain-text and HTML templates
    MIME           building the message and its bytes, as Django's SMTP backend does before it sends
    sending        the rest of the e-mail backend
    other          everything else: the ORM building objects, the job's own code

The mail goes to a backend that builds each message's bytes exactly as the SMTP backend does and then drops
them (`--dummy`: Django's dummy backend instead, the `EMAIL_URL=dummymail://` of `make bench`, which skips the
MIME phase). Then M more e-mails run under cProfile and the functions that cost most are listed.

`--rq-worker CLASS` sends them as the stack does instead: their jobs are queued on RQ and
`manage.py rqworker --burst --worker-class CLASS` runs them in a child process (as the Procfile's worker, with
a persistent connection, CONN_MAX_AGE=60); it prints the CPU of that process and any it forked, per e-mail,
less its start-up (a burst run on an empty queue). rq.worker.Worker is RQ's default (a fork per job),
config.rqworker.JobWorker the project's.

It uses its own PostgreSQL database (frontrow_email_bench or BENCH_DB, created and migrated if missing,
flushed at each run) and Redis db 10 (BENCH_REDIS_URL) for the settings' cache and, with --rq-worker, the
jobs; the payments queue no job themselves. Not a test: run it by hand.

    .venv/bin/python bench/email_bench.py
    .venv/bin/python bench/email_bench.py --emails 100 --profile 50 --dummy
    .venv/bin/python bench/email_bench.py --emails 100 --rq-worker rq.worker.Worker
"""

import argparse
import cProfile
import datetime
import io
import os
import pstats
import random
import resource
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("BENCH_DB", "frontrow_email_bench")
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
WARM_UP = 5  # e-mails sent first and left out of the figures (template compilation, first imports)
PHASES = ("SQL", "ticket codes", "QR codes", "templates", "MIME", "sending")


class Phases:
    """CPU time per phase; a phase entered inside another is counted to itself only (a query run while a
    template renders is SQL, not template time)."""

    def __init__(self) -> None:
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._stack: list[list[Any]] = []

    def enter(self, name: str) -> None:
        now = time.process_time()
        if self._stack:
            parent = self._stack[-1]
            self.cpu[parent[0]] += now - parent[1]
        self._stack.append([name, now])
        self.calls[name] += 1

    def leave(self) -> None:
        now = time.process_time()
        name, started = self._stack.pop()
        self.cpu[name] += now - started
        if self._stack:
            self._stack[-1][1] = now

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(name)
            try:
                return original(*args, **kwargs)
            finally:
                self.leave()

        setattr(owner, attribute, timed)

    def sql(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.enter("SQL")
        try:
            return execute(sql, params, many, context)
        finally:
            self.leave()


PHASE_CLOCK = Phases()


class BytesBackend(BaseEmailBackend):
    """What django.core.mail.backends.smtp.EmailBackend does with a message short of the socket: the MIME
    message and its bytes with CRLF line ends. Counts the bytes."""

    sent_bytes = 0

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            PHASE_CLOCK.enter("MIME")
            try:
                data = message.message().as_bytes(linesep="\r\n")
            finally:
                PHASE_CLOCK.leave()
            BytesBackend.sent_bytes += len(data)
        return len(email_messages)


def configure(*, dummy: bool) -> None:
    from bench.benchdb import setup_django

    setup_django(
        pg_server=PG_SERVER,
        database=BENCH_DB,
        redis_url=BENCH_REDIS,
        DEBUG="false",  # as in production: no query log kept in memory
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),  # signs this run's ticket codes
        QUEUE_BACKEND="database",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    from django.conf import settings
    from django.core.management import call_command

    call_command("flush", verbosity=0, interactive=False)
    if not dummy:
        settings.EMAIL_BACKEND = f"{__name__}.BytesBackend"


def prepare(count: int, rng: random.Random) -> list[str]:
    """`count` fans who each paid for 1 or 2 seats in one checkout (Korean and English in turn); returns the
    ids of the e-mails they are owed, in payment order."""
    from django.utils import timezone

    from accounts.models import User
    from booking import services
    from booking.models import ConfirmationEmail
    from booking.services import confirmations
    from concerts.models import Concert, ConcertDate
    from concerts.services import create_concert_date
    from wallet.models import ChargeHistory

    now = timezone.now()
    balance = 1_000_000
    fans = User.objects.bulk_create(
        User(email=f"bench-fan-{i:06d}@example.com", name=f"팬 {i}", password="!", balance=balance)
        for i in range(count)
    )
    ChargeHistory.objects.bulk_create(
        ChargeHistory(user=fan, amount=balance, status=ChargeHistory.Status.SUCCESS, charged_at=now) for fan in fans
    )
    concert = Concert.objects.create(
        title="Frontrow 벤치 콘서트 — Bench Live", venue="Olympic Hall", sale_opens_at=now - datetime.timedelta(hours=1)
    )
    dates: list[ConcertDate] = []
    free: list[int] = []
    for index, fan in enumerate(fans):
        seats = rng.choice((1, 2))
        if len(free) < seats:
            dates.append(create_concert_date(concert=concert, starts_at=now + datetime.timedelta(days=30 + len(dates))))
            free = list(range(1, 51))
        taken, free = free[:seats], free[seats:]
        services.hold_seats(user=fan, concert_date=dates[-1], seat_numbers=taken)
        # The bench runs the job itself: the payment's enqueue to RQ at commit is left out, the mail stays owed.
        with mock.patch.object(confirmations, "_enqueue_job"):
            services.pay(
                user=fan,
                concert_date=dates[-1],
                idempotency_key=uuid.uuid4().hex,
                language="ko" if index % 2 == 0 else "en",
            )
    return [str(pk) for pk in ConfirmationEmail.objects.order_by("created_at").values_list("pk", flat=True)]


def instrument() -> None:
    """Wrap the phases' entry points (this process only; the code itself is unchanged)."""
    from django.core.mail.backends.dummy import EmailBackend as DummyBackend
    from django.template.backends.django import Template

    from booking import tickets

    clock = PHASE_CLOCK
    clock.wrap(tickets, "ticket_code", "ticket codes")
    clock.wrap(tickets, "ticket_qr_svg", "QR codes")
    clock.wrap(Template, "render", "templates")
    clock.wrap(DummyBackend, "send_messages", "sending")
    clock.wrap(BytesBackend, "send_messages", "sending")


def send_all(confirmation_ids: Sequence[str]) -> list[float]:
    """Run the job for each owed e-mail; return the CPU seconds each took."""
    from django.db import connection

    from booking import jobs

    costs = []
    with connection.execute_wrapper(PHASE_CLOCK.sql):
        for confirmation_id in confirmation_ids:
            started = time.process_time()
            sent = jobs.send_booking_confirmation(confirmation_id=confirmation_id)
            costs.append(time.process_time() - started)
            if sent != 1:
                raise SystemExit(f"e-mail {confirmation_id} was not sent ({sent})")
    return costs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every child waited for, and the children they waited for
    return usage.ru_utime + usage.ru_stime


def run_worker(confirmation_ids: Sequence[str], worker_class: str, *, dummy: bool) -> tuple[float, float]:
    """Queue the e-mails' jobs on RQ and run a burst worker of `worker_class` in a child process until the queue
    is empty; return the CPU seconds it took and those of its start-up alone (a burst run on an empty queue)."""
    import django_rq

    from booking import jobs

    queue = django_rq.get_queue("default")
    queue.empty()  # type: ignore[no-untyped-call]  # rq left it unannotated
    command = [sys.executable, "manage.py", "rqworker", "default", "--burst", "--worker-class", worker_class]
    env = {**os.environ, "DB_POOL": "false", "CONN_MAX_AGE": "60"}
    if not dummy:
        env["EMAIL_BACKEND"] = "bench.email_bench.BytesBackend"
    costs = []
    for batch in ((), confirmation_ids):
        for confirmation_id in batch:
            queue.enqueue(jobs.send_booking_confirmation, kwargs={"confirmation_id": confirmation_id})
        started = _children_cpu()
        subprocess.run(command, cwd=BASE_DIR, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        costs.append(_children_cpu() - started)
    start_up, total = costs
    return total, start_up


def profile(confirmation_ids: Sequence[str], top: int) -> str:
    from booking import jobs

    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for confirmation_id in confirmation_ids:
        jobs.send_booking_confirmation(confirmation_id=confirmation_id)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return "\n".join(line for line in out.getvalue().splitlines() if line.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=300, help="e-mails timed (default 300)")
    parser.add_argument("--profile", type=int, default=100, help="e-mails sent under cProfile afterwards (0: none)")
    parser.add_argument("--top", type=int, default=25, help="functions listed from the profile")
    parser.add_argument("--dummy", action="store_true", help="Django's dummy mail backend (dummymail://)")
    parser.add_argument("--rq-worker", metavar="CLASS", help="run the jobs on a burst RQ worker of this class")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    configure(dummy=args.dummy)
    from booking.models import ConfirmationEmail, Reservation

    owed = prepare(WARM_UP + args.emails + args.profile, random.Random(args.seed))
    seats = Reservation.objects.filter(status=Reservation.Status.CONFIRMED).count()
    warm, timed, profiled = owed[:WARM_UP], owed[WARM_UP : WARM_UP + args.emails], owed[WARM_UP + args.emails :]
    if args.rq_worker:
        total, start_up = run_worker(owed[: WARM_UP + args.emails], args.rq_worker, dummy=args.dummy)
        per_mail = (total - start_up) / (WARM_UP + args.emails) * 1000
        print(f"e-mail bench: {WARM_UP + args.emails} confirmation e-mails on a burst RQ worker, {args.rq_worker}")
        print(f"  worker CPU          {total:.2f} s, of which start-up {start_up:.2f} s")
        print(f"  CPU per e-mail      {per_mail:.1f} ms (the worker and its forks, start-up left out)")
        left = ConfirmationEmail.objects.filter(sent_at__isnull=True).exclude(pk__in=owed[WARM_UP + args.emails :])
        print(f"\ncheck: {left.count()} of them left unsent")
        sys.exit(1 if left.exists() else 0)
    instrument()
    send_all(warm)
    PHASE_CLOCK.cpu.clear()
    PHASE_CLOCK.calls.clear()
    costs = send_all(timed)
    total = sum(costs)
    per_mail = {name: PHASE_CLOCK.cpu[name] / len(timed) * 1000 for name in PHASES}
    other = total / len(timed) * 1000 - sum(per_mail.values())
    timed_seats = Reservation.objects.filter(payments__confirmation_id__in=timed).distinct().count()

    backend = "dummy (dummymail://)" if args.dummy else "builds the bytes as SMTP does, then drops them"
    print(f"e-mail bench: {len(timed)} confirmation e-mails ({timed_seats} seats), ko and en, backend: {backend}")
    mean = statistics.mean(costs) * 1000
    print(f"  CPU per e-mail      mean {mean:.1f} ms, p50 {_ms(costs, 50)}, p99 {_ms(costs, 99)}")
    print(f"  CPU per seat        {total / timed_seats * 1000:.1f} ms")
    print(f"  queries per e-mail  {PHASE_CLOCK.calls['SQL'] / len(timed):.1f}")
    if not args.dummy:
        print(f"  bytes per e-mail    {BytesBackend.sent_bytes / len(timed):,.0f}")
    print("  phase               ms/e-mail   share")
    for name, value in [*per_mail.items(), ("other", other)]:
        print(f"    {name:<18}{value:>9.2f}  {value / (total / len(timed) * 1000):>6.0%}")
    if profiled:
        print(f"\ncProfile of {len(profiled)} more e-mails (process CPU time; the wrappers above are in it too):")
        print(profile(profiled, args.top))
    unsent = ConfirmationEmail.objects.filter(sent_at__isnull=True).count()
    print(f"\ncheck: {seats} seats paid, {len(owed)} e-mails owed, {unsent} left unsent")
    if unsent:
        sys.exit(1)


def _ms(values: Sequence[float], q: int) -> str:
    if q == 50:
        return f"{statistics.median(values) * 1000:.1f} ms"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[q - 1] * 1000:.1f} ms"


if __name__ == "__main__":
    main()
