"""The jobs on a real RQ worker (SimpleWorker, burst mode) against the test Redis: enqueued, picked up,
run, retried when they fail."""

import uuid
from unittest import mock

import pytest
import redis
from django.core import mail
from rq import Queue, SimpleWorker
from rq.job import JobStatus

from booking import jobs, staff
from booking.models import Reservation
from concerts.models import DateExport
from tests.factories import ConcertDateFactory
from tests.sales import paid_fan
from wallet.models import UsageHistory


@pytest.fixture
def rq_queue(settings):
    connection = redis.Redis.from_url(settings.REDIS_URL)
    queue = Queue(f"frontrow-test-{uuid.uuid4().hex[:8]}", connection=connection)
    yield queue
    queue.delete(delete_jobs=True)


def _work(queue):
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


@pytest.mark.django_db(transaction=True)
def test_worker_sends_mail_refunds_once_and_exports(rq_queue):
    date = ConcertDateFactory()
    _user, first = paid_fan(concert_date=date, seats=[1, 2])
    _user, second = paid_fan(concert_date=date, seats=[3])
    sent_on_commit = len(mail.outbox)  # the payments committed: each already sent its mail (RQ sync)
    assert sent_on_commit == 2
    mail_job = rq_queue.enqueue(
        jobs.send_booking_confirmation, kwargs={"reservation_ids": [str(r.pk) for r in first.reservations]}
    )
    _work(rq_queue)
    assert mail_job.get_status(refresh=True) == JobStatus.FINISHED
    assert len(mail.outbox) == sent_on_commit + 1
    assert mail.outbox[-1].subject == mail.outbox[0].subject

    export = DateExport.objects.create(concert_date=date)
    export_job = rq_queue.enqueue(jobs.export_date_csv, kwargs={"export_id": str(export.pk)})
    cancellation = staff.cancel_concert_date(concert_date=date, reason="worker test", enqueue=False)
    refund_jobs = [
        rq_queue.enqueue(jobs.refund_cancelled_date, kwargs={"cancellation_id": str(cancellation.pk)}, retry=jobs.RETRY)
        for _ in range(2)
    ]
    _work(rq_queue)
    assert [job.get_status(refresh=True) for job in refund_jobs] == [JobStatus.FINISHED] * 2
    assert refund_jobs[0].return_value() == 3 and refund_jobs[1].return_value() == 0
    assert not Reservation.objects.filter(seat__concert_date=date, status__in=Reservation.LIVE_STATUSES).exists()
    assert UsageHistory.objects.filter(action_type="CANCELLATION", reservation__seat__concert_date=date).count() == 3
    assert export_job.get_status(refresh=True) == JobStatus.FINISHED
    export.refresh_from_db()
    assert export.status == DateExport.Status.READY and export.rows == 3


@pytest.mark.django_db(transaction=True)
def test_a_failing_job_is_recorded_and_scheduled_for_a_retry(rq_queue):
    date = ConcertDateFactory()
    export = DateExport.objects.create(concert_date=date)
    job = rq_queue.enqueue(jobs.export_date_csv, kwargs={"export_id": str(export.pk)}, retry=jobs.RETRY)
    with mock.patch.object(staff, "write_export", side_effect=OSError("disk full")):
        _work(rq_queue)
    export.refresh_from_db()
    assert export.status == DateExport.Status.FAILED and "disk full" in export.error
    assert job.get_status(refresh=True) == JobStatus.SCHEDULED  # retried after RETRY's first interval
    job.refresh()
    assert job.retries_left == 2
