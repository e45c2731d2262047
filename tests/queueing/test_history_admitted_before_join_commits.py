"""an admission made before the joiner's history row commits must still reach the
history, even when a second admission run (its catch-up) comes before that commit."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from queueing import services
from queueing.models import QueueEntryHistory, WaitingRoom
from tests.support.concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)

SECOND = datetime.timedelta(seconds=1)


def test_an_admission_caught_up_before_the_joins_row_commits_is_not_lost(redis_backend, concert, make_room, make_fans):
    make_room(max_active=5)
    early, fan = make_fans(2)
    now = timezone.now()
    services.join(user=early, concert=concert, now=now)
    room = WaitingRoom.objects.get(pk=concert.pk)

    with transaction.atomic():  # the join's transaction, held open while two other requests run admission
        placed = redis_backend.join(room=room, user_id=fan.pk, now=now)
        run_together(1, lambda i: services.admit_batch(concert=concert, now=now + SECOND))
        # a second run (beat, or another joiner at the front) catches up before this join commits
        run_together(1, lambda i: services.admit_batch(concert=concert, now=now + 2 * SECOND))
        services.places.record_entry(user=fan, concert=concert, ticket=placed.ticket)

    services.admit_batch(concert=concert, now=now + 3 * SECOND)

    history = QueueEntryHistory.objects.get(user=fan)
    assert history.was_admitted and history.admitted_at == now + SECOND
    assert WaitingRoom.objects.get(pk=concert.pk).admitted_total == 2
