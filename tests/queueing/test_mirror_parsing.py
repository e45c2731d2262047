"""The room's mirror is parsed once per text in a process (queueing.services._mirror.room_from_mirror): every
poll and waiting page between two admission runs reads the same text. A new text (a pause, a run) is parsed anew."""

from queueing.services._mirror import room_from_mirror

STATE = "[5,false,[[1764540000.5,3]],1764540000.5,1764540600.0,100]"


def test_one_text_is_parsed_once_and_its_room_shared():
    first = room_from_mirror(STATE)
    assert room_from_mirror(STATE) is first
    assert (first.max_active, first.is_paused, first.admit_per_minute) == (5, False, 100)
    assert first.admission_log == [[1764540000.5, 3]]
    assert first.last_admission_at.timestamp() == 1764540000.5


def test_a_new_text_gives_the_new_room():
    paused = room_from_mirror(STATE.replace("false", "true"))
    assert paused.is_paused and not room_from_mirror(STATE).is_paused
