"""The RQ worker `manage.py rqworker` runs (config.rqworker.JobWorker), on a real Redis and PostgreSQL: the jobs
in its own process one after another, on a database connection it keeps and replaces when PostgreSQL has
dropped it between two jobs."""

import uuid

import django_rq
import pytest
import redis
from django.core import mail
from django.db import connection, connections
from rq import Queue
from rq.job import JobStatus

from booking import jobs
from booking.models import ConfirmationEmail
from config.rqworker import JobWorker
from tests.factories import ConcertDateFactory
from tests.support.sales import paid_fan

DEAD_RQ = {"default": {"URL": "redis://127.0.0.1:1/0", "ASYNC": False, "DEFAULT_TIMEOUT": 60}}


@pytest.fixture
def rq_queue(settings):
    queue = Queue(f"frontrow-test-{uuid.uuid4().hex[:8]}", connection=redis.Redis.from_url(settings.REDIS_URL))
    yield queue
    queue.delete(delete_jobs=True)


def _owed_mail(settings) -> str:
    """A paid checkout whose confirmation e-mail could not be queued at commit (RQ away): it is owed."""
    working = settings.RQ_QUEUES
    settings.RQ_QUEUES = DEAD_RQ
    _user, result = paid_fan(concert_date=ConcertDateFactory(), seats=[2])
    settings.RQ_QUEUES = working
    return str(result.payments[0].confirmation_id)


def _run(queue, confirmation_id):
    job = queue.enqueue(jobs.send_booking_confirmation, kwargs={"confirmation_id": confirmation_id})
    JobWorker([queue], connection=queue.connection).work(burst=True)
    return job


def test_the_rqworker_command_runs_jobs_on_the_project_worker():
    assert django_rq.workers.get_worker_class() is JobWorker


@pytest.mark.django_db(transaction=True)
def test_jobs_run_one_after_another_in_the_worker_process(rq_queue, settings):
    owed = [_owed_mail(settings) for _ in range(3)]
    queued = [rq_queue.enqueue(jobs.send_booking_confirmation, kwargs={"confirmation_id": pk}) for pk in owed]
    JobWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    assert [job.get_status(refresh=True) for job in queued] == [JobStatus.FINISHED] * 3
    assert [job.return_value() for job in queued] == [1, 1, 1]
    # The in-memory outbox of this process has them: no job ran in a forked child.
    assert len(mail.outbox) == 3
    assert not ConfirmationEmail.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_connection_postgresql_dropped_between_two_jobs_is_replaced_not_failed(rq_queue, settings, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", None)  # kept between jobs, as in production
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    first, second = _owed_mail(settings), _owed_mail(settings)
    connection.close()

    assert _run(rq_queue, first).get_status(refresh=True) == JobStatus.FINISHED
    kept = connection.connection.info.backend_pid  # the job's connection, still open
    admin = connections.create_connection("default")
    try:
        with admin.cursor() as cursor:  # as a PostgreSQL restart or an idle timeout would
            cursor.execute("SELECT pg_terminate_backend(%s)", [kept])
    finally:
        admin.close()

    job = _run(rq_queue, second)
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert job.return_value() == 1
    assert connection.connection.info.backend_pid != kept
    assert len(mail.outbox) == 2
