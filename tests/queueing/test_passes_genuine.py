"""Reading the queue pass (queueing.passes.read_pass): a pass found genuine once is not checked again (its
signature is an HMAC, base64 and JSON on every poll and page), but its age, its concert and its session still are
on every read, and a value that was never found genuine is checked in full."""

import datetime
import uuid

import pytest
import time_machine
from django.conf import settings
from django.core import signing
from django.http import HttpResponse
from django.test import RequestFactory

from queueing import passes

SESSION = "s" * 32


def _request(value=None, session=SESSION):
    request = RequestFactory().get("/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = session
    if value is not None:
        request.COOKIES[settings.QUEUE_PASS_COOKIE_NAME] = value
    return request


def _issued(concert_id):
    response = HttpResponse()
    queue_pass = passes.QueuePass(
        user_id=uuid.uuid4(), concert_id=concert_id, token=uuid.uuid4(), start=7, label="fan@example.com"
    )
    passes.issue_pass(response, _request(), queue_pass)
    return response.cookies[settings.QUEUE_PASS_COOKIE_NAME].value, queue_pass


@pytest.fixture
def signature_checks(monkeypatch):
    checked = []
    original = signing.loads

    def counting(*args, **kwargs):
        checked.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(passes.signing, "loads", counting)
    return checked


def test_a_genuine_pass_is_checked_once_and_read_the_same_every_time(signature_checks):
    concert_id = uuid.uuid4()
    value, issued = _issued(concert_id)
    first = passes.read_pass(_request(value), concert_id)
    second = passes.read_pass(_request(value), concert_id)
    assert first == second and first is not None
    assert (first.user_id, first.token, first.start, first.label) == (
        issued.user_id,
        issued.token,
        7,
        "fan@example.com",
    )
    assert signature_checks == [value]


def test_a_known_pass_still_runs_out_goes_with_its_concert_and_session_only(signature_checks):
    concert_id = uuid.uuid4()
    value, _ = _issued(concert_id)
    assert passes.read_pass(_request(value), concert_id) is not None
    assert passes.read_pass(_request(value), uuid.uuid4()) is None  # another concert's URL
    assert passes.read_pass(_request(value, session="t" * 32), concert_id) is None  # another session
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=settings.QUEUE_PASS_SECONDS + 2)
    with time_machine.travel(later):
        assert passes.read_pass(_request(value), concert_id) is None
    assert len(signature_checks) == 1


def test_an_altered_pass_is_checked_in_full_and_refused(signature_checks):
    concert_id = uuid.uuid4()
    value, _ = _issued(concert_id)
    assert passes.read_pass(_request(value), concert_id) is not None
    payload, timestamp, signature = value.rsplit(":", 2)
    altered = f"{payload}:{timestamp}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
    assert passes.read_pass(_request(altered), concert_id) is None
    assert passes.read_pass(_request(altered), concert_id) is None
    assert signature_checks == [value, altered, altered]
