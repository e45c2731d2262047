"""Issue 11 item 1: the waiting room's counters move only in the queue services, and a join never
answers 500 on a place that is already taken, whatever happened to the counter."""

import pytest

from queueing import services
from queueing.models import QueueToken, WaitingRoom

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _database_backend(settings):
    settings.QUEUE_BACKEND = "database"


def test_a_join_after_the_place_counter_was_set_back_gets_the_next_free_place(concert, make_room, make_fans):
    make_room(max_active=1)
    first, second, third = make_fans(3)
    services.join(user=first, concert=concert)
    services.join(user=second, concert=concert)
    WaitingRoom.objects.filter(pk=concert.pk).update(next_position=0, served_position=0)

    status = services.join(user=third, concert=concert)

    token = QueueToken.objects.get(token=status.token)
    assert token.queue_position == 3
    assert WaitingRoom.objects.get(pk=concert.pk).next_position == 3
    assert status.ahead == 1  # the second fan, still waiting


def test_a_plain_save_of_a_room_read_earlier_writes_only_the_staff_settings(concert, make_room, make_fans):
    make_room(max_active=1)
    stale = WaitingRoom.objects.get(pk=concert.pk)
    for fan in make_fans(2):
        services.join(user=fan, concert=concert)

    stale.max_active = 4
    stale.save()

    room = WaitingRoom.objects.get(pk=concert.pk)
    assert (room.max_active, room.next_position, room.served_position, room.admitted_total) == (4, 2, 1, 1)
