"""The Celery side of the waiting room: the beat task called directly, racing, and once on a real worker."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app
from queueing import services, tasks
from queueing.backends import get_backend
from queueing.models import QueueEntryHistory, WaitingRoom
from tests.support.concurrency import run_together

BASE_DIR = Path(__file__).resolve().parents[2]


def test_beat_schedules_admission_from_settings():
    entry = settings.CELERY_BEAT_SCHEDULE["admit-queue-batches"]
    assert entry["task"] == "queueing.tasks.admit_queue_batches"
    assert entry["schedule"] == settings.ADMIT_QUEUE_EVERY_SECONDS
    app.loader.import_default_modules()
    assert "queueing.tasks.admit_queue_batches" in app.tasks


@pytest.mark.django_db
def test_the_task_admits_every_open_room_and_is_idempotent(queue_backend, concert, make_room, make_fans):
    make_room(max_active=2, is_paused=True)
    for fan in make_fans(5):
        services.join(user=fan, concert=concert)
    services.set_paused(concert=concert, paused=False)

    assert tasks.admit_queue_batches() == 2
    assert tasks.admit_queue_batches() == 0
    assert queue_backend.counts(concert_id=concert.pk, now=timezone.now()) == (3, 2)
    assert tasks.admit_queue_batches.delay().get() == 0  # eager in tests: same task through Celery's API


@pytest.mark.django_db(transaction=True)
def test_several_workers_at_once_admit_no_more_than_max_active(queue_backend, concert, make_room, make_fans):
    make_room(max_active=4, is_paused=True)
    for fan in make_fans(12):
        services.join(user=fan, concert=concert)
    services.set_paused(concert=concert, paused=False)

    admitted = run_together(3, lambda i: tasks.admit_queue_batches())

    assert sum(admitted) == 4
    assert QueueEntryHistory.objects.filter(concert=concert, was_admitted=True).count() == 4


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_task_against_redis(settings, redis_prefix, concert, make_room, make_fans):
    """Starts `celery -A config worker` on the test database with Redis as broker and queue backend."""
    settings.QUEUE_BACKEND = "redis"
    make_room(max_active=3, is_paused=True)
    for fan in make_fans(5):
        services.join(user=fan, concert=concert)
    services.set_paused(concert=concert, paused=False)

    queue_name = f"{redis_prefix}:celery"
    db = connection.settings_dict
    credentials = f"{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "QUEUE_BACKEND": "redis",
        "QUEUE_REDIS_PREFIX": redis_prefix,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue_name, "--pool", "solo"]
        + ["--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    sender = Celery(broker=settings.REDIS_URL)
    try:
        sender.send_task("queueing.tasks.admit_queue_batches", queue=queue_name)
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and worker.poll() is None:
            if QueueEntryHistory.objects.filter(concert=concert, was_admitted=True).count() == 3:
                break
            time.sleep(0.25)
        assert worker.poll() is None, worker.stdout.read().decode(errors="replace")[-3000:]
        assert QueueEntryHistory.objects.filter(concert=concert, was_admitted=True).count() == 3
        assert WaitingRoom.objects.get(pk=concert.pk).last_admission_at is not None
        waiting, admitted = get_backend().counts(concert_id=concert.pk, now=timezone.now())
        assert (waiting, admitted) == (2, 3)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        worker.stdout.close()
        sender.close()
        client = redis.Redis.from_url(settings.REDIS_URL)
        # The queue's own keys go with the test's prefix; kombu's bindings of it are named after it.
        client.delete(f"_kombu.binding.{queue_name}", f"_kombu.binding_permanent.{queue_name}")
        client.close()
