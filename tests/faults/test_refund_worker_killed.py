"""A real RQ worker (manage.py rqworker, as in the Procfile) is SIGKILLed in the middle of the date-cancellation
refund job; the job is run again by a fresh worker, and every reservation is refunded exactly once.

To stop the worker at a known point without touching its code, the test holds a row lock on one fan's
user row: the job refunds every reservation before that fan's first one, then waits on the lock inside
refund_and_cancel's transaction, where it is killed.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import django_rq
import psycopg
import pytest
from django.conf import settings
from django.db.models import Count, Q

from booking import jobs, selectors, services
from booking.models import Reservation
from concerts.models import DateCancellation
from tests import factories
from tests.security.fixtures import assert_ledger_reconciles, hold, pay, top_up
from tests.stack.conftest import BASE_DIR, database_url
from tests.support.checks import assert_consistent
from wallet.models import UsageHistory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PAYING_FANS, SEATS_EACH, HOLDING_FANS = 10, 4, 2


@pytest.fixture
def rq_queue():
    queue = django_rq.get_queue("default", is_async=True)  # the test settings run RQ jobs inline otherwise
    connection = queue.connection
    assert connection.connection_pool.connection_kwargs.get("db") == int(settings.REDIS_URL.rsplit("/", 1)[1])
    stale = list(connection.scan_iter(match="rq:*"))
    if stale:
        connection.delete(*stale)
    yield queue
    leftovers = list(connection.scan_iter(match="rq:*"))
    if leftovers:
        connection.delete(*leftovers)


def start_worker(tmp_path, name):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "RQ_ASYNC": "true",
    }
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed by the caller via the process)
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "default", "--burst", "--name", f"faults-{name}-{os.getpid()}"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the worker and anything it started die together
    )


def waiting_on_a_lock(admin):
    return admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()[0]


def refunds_per_reservation():
    return Counter(
        UsageHistory.objects.filter(action_type="CANCELLATION", status="SUCCESS").values_list(
            "reservation_id", flat=True
        )
    )


def test_a_refund_job_killed_midway_refunds_each_reservation_exactly_once_when_run_again(tmp_path, rq_queue):
    date = factories.ConcertDateFactory()
    fans = []
    for i in range(PAYING_FANS):
        fan = top_up(factories.UserFactory(email=f"payer{i}@example.com"), 500_000)
        hold(fan, date, *range(i * SEATS_EACH + 1, (i + 1) * SEATS_EACH + 1))
        pay(fan, date, key=f"k{i}")
        fan.refresh_from_db()
        fans.append((fan, fan.balance))
    for i in range(HOLDING_FANS):
        hold(factories.UserFactory(email=f"holder{i}@example.com"), date, 45 + i)
    cancellation = services.cancel_concert_date(
        concert_date=date, by=factories.StaffFactory(), reason="storm", enqueue=False
    )
    total = PAYING_FANS * SEATS_EACH + HOLDING_FANS
    assert cancellation.total == total

    # The job goes through the live reservations in primary-key order; block it at a paying fan's first one
    # somewhere in the middle.
    order = list(selectors.live_reservations(date).order_by("pk").values_list("pk", "user_id", "status"))
    first_index = {}
    for index, (_pk, user_id, status) in enumerate(order):
        if status == "CONFIRMED":
            first_index.setdefault(user_id, index)
    blocked_user, stop_at = min(first_index.items(), key=lambda item: abs(item[1] - total // 2))
    assert 0 < stop_at < total

    admin = psycopg.connect(database_url(), autocommit=True)
    locker = psycopg.connect(database_url())
    try:
        locker.execute("SELECT id FROM accounts_user WHERE id = %s FOR UPDATE", [blocked_user])

        rq_queue.enqueue(jobs.refund_cancelled_date, kwargs={"cancellation_id": str(cancellation.pk)}, retry=jobs.RETRY)
        worker = start_worker(tmp_path, "first")
        deadline = time.monotonic() + 120
        while waiting_on_a_lock(admin) == 0:
            assert worker.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker never reached the locked fan"
            time.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)

        # Killed midway: everything before the locked fan is refunded once, nothing after it is touched.
        ended = Reservation.objects.filter(seat__concert_date=date, status="CANCELLED").count()
        assert ended == stop_at
        assert set(refunds_per_reservation().values()) <= {1}
        assert_consistent()
        assert_ledger_reconciles()
    finally:
        locker.rollback()  # the lock goes; the dead worker's orphaned transaction can only roll back
        locker.close()
        admin.close()

    # Staff (or RQ's retry) run it again, on a fresh worker.
    rq_queue.enqueue(jobs.refund_cancelled_date, kwargs={"cancellation_id": str(cancellation.pk)}, retry=jobs.RETRY)
    second = start_worker(tmp_path, "second")
    assert second.wait(timeout=180) == 0, (tmp_path / "second.log").read_text()[-3000:]

    assert not selectors.live_reservations(date).exists()
    paid = Reservation.objects.filter(seat__concert_date=date, confirmed_at__isnull=False)
    refunds = refunds_per_reservation()
    assert {r.pk: refunds[r.pk] for r in paid} == {r.pk: 1 for r in paid}  # every paid seat, exactly once
    assert sum(refunds.values()) == PAYING_FANS * SEATS_EACH
    assert not paid.annotate(n=Count("usages", filter=Q(usages__action_type="CANCELLATION"))).filter(n__gt=1).exists()
    for fan, balance_after_paying in fans:
        fan.refresh_from_db()
        assert fan.balance == balance_after_paying + SEATS_EACH * date.seats.first().price
        assert fan.balance == 500_000
    assert_consistent()
    assert_ledger_reconciles()
    cancellation.refresh_from_db()
    assert cancellation.finished_at is not None
    assert cancellation.runs >= 2
    assert selectors.cancellation_progress(cancellation) == (total, total, 0)
    assert DateCancellation.objects.get(pk=cancellation.pk).last_error == ""
