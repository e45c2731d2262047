"""The jobs on a real RQ worker (the project's, config.rqworker.JobWorker, in burst mode) against the test
Redis: enqueued, picked up, run, retried when they fail."""

import uuid
from unittest import mock

import pytest
import redis
from django.core import mail
from rq import Queue
from rq.job import JobStatus

from booking import jobs, services
from booking.models import ConfirmationEmail, Reservation
from concerts.models import DateExport
from config.rqworker import JobWorker
from tests.factories import ConcertDateFactory
from tests.support.sales import paid_fan
from wallet.models import UsageHistory


@pytest.fixture
def rq_queue(settings):
    connection = redis.Redis.from_url(settings.REDIS_URL)
    queue = Queue(f"frontrow-test-{uuid.uuid4().hex[:8]}", connection=connection)
    yield queue
    queue.delete(delete_jobs=True)


def _work(queue):
    JobWorker([queue], connection=queue.connection).work(burst=True)


@pytest.mark.django_db(transaction=True)
def test_worker_sends_mail_once_refunds_once_and_exports(rq_queue, settings):
    date = ConcertDateFactory()
    working = settings.RQ_QUEUES
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "ASYNC": False}}  # RQ away at payment
    _user, first = paid_fan(concert_date=date, seats=[1, 2])
    settings.RQ_QUEUES = working
    _user, second = paid_fan(concert_date=date, seats=[3])
    assert len(mail.outbox) == 1  # the second payment's mail went at commit (RQ sync); the first's is owed
    [owed] = ConfirmationEmail.objects.filter(sent_at__isnull=True)
    mail_jobs = [
        rq_queue.enqueue(jobs.send_booking_confirmation, kwargs={"confirmation_id": str(owed.pk)}) for _ in range(2)
    ]
    _work(rq_queue)
    assert [job.get_status(refresh=True) for job in mail_jobs] == [JobStatus.FINISHED] * 2
    assert [job.return_value() for job in mail_jobs] == [1, 0]
    assert len(mail.outbox) == 2
    assert sorted(a[0] for a in mail.outbox[-1].attachments) == ["ticket-seat-1.svg", "ticket-seat-2.svg"]

    export = DateExport.objects.create(concert_date=date)
    export_job = rq_queue.enqueue(jobs.export_date_csv, kwargs={"export_id": str(export.pk)})
    cancellation = services.cancel_concert_date(concert_date=date, reason="worker test", enqueue=False)
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
    with mock.patch.object(services, "write_export", side_effect=OSError("disk full")):
        _work(rq_queue)
    export.refresh_from_db()
    assert export.status == DateExport.Status.FAILED and "disk full" in export.error
    assert job.get_status(refresh=True) == JobStatus.SCHEDULED  # retried after RETRY's first interval
    job.refresh()
    assert job.retries_left == 2


@pytest.mark.django_db(transaction=True)
def test_the_sweep_leaves_a_queued_mail_to_its_job_until_the_job_looks_lost(settings):
    import datetime

    import django_rq

    from booking.services import confirmations

    settings.RQ_QUEUES = {"default": {"URL": settings.REDIS_URL, "ASYNC": True, "DEFAULT_TIMEOUT": 60}}
    queue = django_rq.get_queue("default")
    queue.empty()
    try:
        _user, result = paid_fan(concert_date=ConcertDateFactory(), seats=[4])  # queued at commit, not run yet
        [owed] = ConfirmationEmail.objects.all()
        assert owed.enqueued_at is not None and owed.enqueue_count == 1 and len(queue) == 1

        minute = datetime.timedelta(minutes=1)
        assert confirmations.enqueue_owed(now=owed.created_at + minute) == 0  # a backlog is not a lost job
        assert confirmations.enqueue_owed(now=owed.created_at + 16 * minute) == 1
        assert len(queue) == 2

        _work(queue)
        assert len(mail.outbox) == 1
        assert ConfirmationEmail.objects.get().sent_at is not None
    finally:
        queue.empty()
