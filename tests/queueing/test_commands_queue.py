"""Operators' commands: queue_status and admit_queue."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from queueing import services
from queueing.models import WaitingRoom

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def queue(concert, make_room, make_fans):
    make_room(max_active=2)
    for fan in make_fans(5):
        services.join(user=fan, concert=concert)
    return concert


def test_queue_status_lists_waiting_and_admitted_per_concert(queue_backend, queue):
    out = run("queue_status")
    [line] = [line for line in out.splitlines() if line.startswith(queue.title)]
    assert line.split()[2:5] == ["3", "2", "2"]
    assert "open" in line


def test_queue_status_without_rooms(db):
    assert "No waiting rooms." in run("queue_status")


def test_admit_queue_for_one_concert(queue_backend, queue):
    WaitingRoom.objects.filter(pk=queue.pk).update(max_active=4)
    assert "Admitted 2 fan(s)" in run("admit_queue", "--concert", str(queue.pk))
    assert queue_backend.counts(concert_id=queue.pk, now=timezone.now()) == (1, 4)
    assert "Admitted 0 fan(s)" in run("admit_queue", "--concert", str(queue.pk))


def test_admit_queue_for_every_open_room(queue_backend, queue):
    WaitingRoom.objects.filter(pk=queue.pk).update(max_active=10)
    assert "Admitted 3 fan(s) across all open waiting rooms" in run("admit_queue")


@pytest.mark.parametrize("bad", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_admit_queue_refuses_an_unknown_concert(bad):
    with pytest.raises(CommandError, match="No concert"):
        run("admit_queue", "--concert", bad)
