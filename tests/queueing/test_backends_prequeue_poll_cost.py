"""On the database backend (the default) a pre-queue fan's status poll must not count
the whole pre-queue (issue 14: poll cost flat from 10 to 100,000 waiting)."""

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from queueing import services
from queueing.models import QueueToken, WaitingRoom

pytestmark = pytest.mark.django_db


def test_database_prequeue_poll_does_not_count_the_prequeue(settings, concert, make_room):
    settings.QUEUE_BACKEND = "database"
    now = timezone.now()
    concert.sale_opens_at = now + datetime.timedelta(minutes=10)
    concert.save(update_fields=["sale_opens_at"])
    make_room(max_active=1)
    users = User.objects.bulk_create(
        User(email=f"p{i}-{uuid.uuid4().hex[:6]}@example.com", name=f"Fan {i}", password="!") for i in range(3_000)
    )
    QueueToken.objects.bulk_create(
        QueueToken(user=user, concert=concert, queue_position=None, receipt=f"P{i + 1:06d}", issued_at=now)
        for i, user in enumerate(users)
    )
    WaitingRoom.objects.filter(pk=concert.pk).update(prequeue_arrivals=3_000, last_admission_at=now)

    with CaptureQueriesContext(connection) as queries:
        polled = services.poll_place(user=users[-1], concert=concert, now=now)
    assert polled is not None and polled.prequeued
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries), [
        q["sql"] for q in queries.captured_queries
    ]
