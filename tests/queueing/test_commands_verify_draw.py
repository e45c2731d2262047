"""`manage.py verify_draw CONCERT`: prints what it checked and exits 0; 1 with each problem on a tampered
history; 2 for an unknown concert or a concert not drawn yet."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from queueing import services
from queueing.models import QueueEntryHistory, WaitingRoom
from tests.factories import UserFactory
from tests.support.draws import run_a_draw, sale_opening_soon

pytestmark = pytest.mark.django_db


def verify(concert_name):
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_draw", concert_name, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def drawn(queue_backend):
    return run_a_draw(entrants=5, leavers=1, later=1)


def test_a_real_draw_checks_by_id_and_by_title(drawn):
    room = WaitingRoom.objects.get(pk=drawn.concert.pk)
    out, err = verify(str(drawn.concert.pk))
    assert f"Commitment: {room.draw_commitment}" in out
    assert f"Seed:       {room.draw_seed}" in out
    assert "4 entries" in out
    assert "OK: SHA-256(seed) is the commitment, and the 4 drawn places" in out
    assert err == ""
    assert "OK:" in verify(f"  {drawn.concert.title} ")[0]


def swap_first_two(draw):
    one, two = (QueueEntryHistory.objects.get(concert=draw.concert, queue_position=p) for p in (1, 2))
    QueueEntryHistory.objects.filter(pk=one.pk).update(queue_position=2)
    QueueEntryHistory.objects.filter(pk=two.pk).update(queue_position=1)
    return one.receipt


def change_seed(draw):
    WaitingRoom.objects.filter(pk=draw.concert.pk).update(draw_seed="cd" * 32)
    return "not the published commitment"


def change_commitment(draw):
    WaitingRoom.objects.filter(pk=draw.concert.pk).update(draw_commitment="f" * 64)
    return "f" * 64


def drop_a_place(draw):
    row = QueueEntryHistory.objects.get(concert=draw.concert, queue_position=3)
    QueueEntryHistory.objects.filter(pk=row.pk).update(queue_position=None)
    return f"Receipt {row.receipt} has no place"


def place_a_later_arrival_inside(draw):
    QueueEntryHistory.objects.filter(concert=draw.concert, user=draw.later[0]).update(queue_position=1)
    return "Place 1 belongs to a fan who arrived after the opening"


@pytest.mark.parametrize(
    "tamper", [swap_first_two, change_seed, change_commitment, drop_a_place, place_a_later_arrival_inside]
)
def test_a_tampered_history_exits_1_naming_the_problem(drawn, tamper):
    named = tamper(drawn)
    err = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("verify_draw", str(drawn.concert.pk), stdout=io.StringIO(), stderr=err)
    assert failed.value.returncode == 1
    assert "The draw does not check" in str(failed.value)
    assert named in err.getvalue()


def test_an_unknown_concert_exits_2(db):
    sale_opening_soon(title="Known")
    for name in ["Unknown", "known", "00000000-0000-0000-0000-000000000000"]:
        with pytest.raises(CommandError) as failed:
            verify(name)
        assert failed.value.returncode == 2
        assert "No concert has the id or title" in str(failed.value)


def test_two_concerts_of_one_title_ask_for_the_id(db):
    sale_opening_soon(title="Twice")
    sale_opening_soon(title="Twice")
    with pytest.raises(CommandError) as failed:
        verify("Twice")
    assert failed.value.returncode == 2
    assert "give its id" in str(failed.value)


def test_a_concert_not_drawn_yet_exits_2(queue_backend):
    concert = sale_opening_soon()
    services.join(user=UserFactory(), concert=concert, now=concert.sale_opens_at - datetime.timedelta(minutes=1))
    with pytest.raises(CommandError) as failed:
        verify(str(concert.pk))
    assert failed.value.returncode == 2
    assert "no draw yet" in str(failed.value)
