"""The database refuses a second live queue token per fan and concert, two tokens in one place, and
tokens whose timestamps contradict their state."""

import pytest
from django.utils import timezone

from queueing.draw import commitment
from queueing.models import QueueEntryHistory, QueueToken, WaitingRoom
from tests.factories import ConcertFactory, QueueEntryHistoryFactory, QueueTokenFactory, WaitingRoomFactory

pytestmark = pytest.mark.django_db

WAITING, ADMITTED, ENDED = QueueToken.State.WAITING, QueueToken.State.ADMITTED, QueueToken.State.ENDED


def test_waiting_room_challenge_has_a_floor(refused):
    room = WaitingRoomFactory()
    refused(
        "waiting_room_challenge_max_number_min",
        lambda: WaitingRoom.objects.filter(pk=room.pk).update(challenge_max_number=10),
    )


def test_a_new_room_commits_to_its_own_seed():
    first, second = WaitingRoomFactory(), WaitingRoomFactory()
    assert first.draw_seed != second.draw_seed
    assert first.draw_commitment == commitment(first.draw_seed)
    assert len(first.draw_commitment) == 64


def test_waiting_room_admits_at_least_one(refused):
    room = WaitingRoomFactory()
    refused(
        "waiting_room_max_active_positive",
        lambda: WaitingRoom.objects.filter(pk=room.pk).update(max_active=0),
    )


def test_waiting_room_admission_rate_is_positive(refused):
    room = WaitingRoomFactory()
    refused(
        "waiting_room_admit_per_minute_positive",
        lambda: WaitingRoom.objects.filter(pk=room.pk).update(admit_per_minute=0),
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


def test_receipt_unique_per_concert(refused):
    token = QueueTokenFactory(queue_position=None, receipt="P000001")
    refused(
        "queue_token_receipt_unique",
        lambda: QueueTokenFactory(concert=token.concert, queue_position=None, receipt="P000001"),
    )
    QueueTokenFactory(concert=ConcertFactory(), queue_position=None, receipt="P000001")
    QueueTokenFactory(concert=token.concert, receipt="")  # entries after the opening have none


@pytest.mark.parametrize(
    "fields",
    [
        {"queue_position": None},  # no place and no receipt
        {
            "queue_position": None,
            "receipt": "P000009",
            "state": ADMITTED,
            "admitted_at": timezone.now(),
            "expired_at": timezone.now(),
        },  # admitted before the draw placed it
    ],
)
def test_only_a_prequeue_entry_has_no_place(refused, fields):
    token = QueueTokenFactory()
    refused("queue_token_unplaced_is_prequeue", lambda: QueueToken.objects.filter(pk=token.pk).update(**fields))


def test_history_receipt_unique_per_concert(refused):
    visit = QueueEntryHistoryFactory(receipt="P000001", queue_position=None)
    refused(
        "queue_history_receipt_unique",
        lambda: QueueEntryHistoryFactory(concert=visit.concert, receipt="P000001", queue_position=None),
    )


def test_a_presale_draw_is_kept_once(refused):
    import uuid

    from queueing.models import SaleDraw

    concert, presale = ConcertFactory(), uuid.uuid4()
    kept = {"presale_name": "Club", "seed": "0" * 64, "commitment": "1" * 64, "closed_at": timezone.now()}
    SaleDraw.objects.create(concert=concert, presale=presale, **kept)
    refused("sale_draw_one_per_presale", lambda: SaleDraw.objects.create(concert=concert, presale=presale, **kept))
