"""The database refuses a second live queue token per fan and concert, two tokens in one place, and
tokens whose timestamps contradict their state."""

import pytest
from django.utils import timezone

from queueing.models import QueueEntryHistory, QueueToken, WaitingRoom
from tests.factories import ConcertFactory, QueueEntryHistoryFactory, QueueTokenFactory, WaitingRoomFactory

pytestmark = pytest.mark.django_db

WAITING, ADMITTED, ENDED = QueueToken.State.WAITING, QueueToken.State.ADMITTED, QueueToken.State.ENDED


def test_waiting_room_admits_at_least_one(refused):
    room = WaitingRoomFactory()
    refused(
        "waiting_room_max_active_positive",
        lambda: WaitingRoom.objects.filter(pk=room.pk).update(max_active=0),
    )


def _admitted_fields(state):
    now = timezone.now()
    if state == ADMITTED:
        return {"admitted_at": now, "expired_at": now}
    if state == ENDED:
        return {"ended_at": now}
    return {}


@pytest.mark.parametrize(("first", "second"), [(WAITING, WAITING), (WAITING, ADMITTED), (ADMITTED, WAITING)])
def test_one_live_token_per_fan_and_concert(refused, first, second):
    token = QueueTokenFactory(state=first, **_admitted_fields(first))
    refused(
        "queue_token_one_live_per_user_concert",
        lambda: QueueTokenFactory(user=token.user, concert=token.concert, state=second, **_admitted_fields(second)),
    )


def test_ended_tokens_do_not_block_a_new_one():
    first = QueueTokenFactory(state=ENDED, ended_at=timezone.now())
    QueueTokenFactory(user=first.user, concert=first.concert, state=WAITING)
    assert QueueToken.objects.filter(user=first.user, concert=first.concert).count() == 2


def test_queue_position_unique_per_concert(refused):
    token = QueueTokenFactory()
    refused(
        "queue_token_position_unique",
        lambda: QueueTokenFactory(concert=token.concert, queue_position=token.queue_position),
    )
    QueueTokenFactory(concert=ConcertFactory(), queue_position=token.queue_position)


@pytest.mark.parametrize(
    "fields",
    [
        {"state": ADMITTED, "expired_at": timezone.now()},  # admitted without admitted_at
        {"state": ADMITTED, "admitted_at": timezone.now()},  # admitted without an expiry
        {"state": WAITING, "admitted_at": timezone.now()},  # waiting yet admitted
        {"state": ENDED},  # ended without ended_at
    ],
)
def test_token_fields_match_state(refused, fields):
    token = QueueTokenFactory()
    refused("queue_token_state_fields_match", lambda: QueueToken.objects.filter(pk=token.pk).update(**fields))


def test_history_token_unique(refused):
    visit = QueueEntryHistoryFactory()
    refused("queueing_queueentryhistory_token", lambda: QueueEntryHistoryFactory(token=visit.token))
    assert QueueEntryHistory.objects.filter(token=visit.token).count() == 1
