"""The entry challenge (queueing.services.challenges): a room's challenge is solved with the altcha package as a
browser would, and a solution is redeemed once; forged, wrong, expired, another concert's, replayed and malformed
solutions are refused; Redis out of reach refuses too (503), rather than letting replays through."""

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone, translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from queueing import services
from queueing.exceptions import ChallengeFailed, QueueUnavailable
from queueing.models import QueueEntryHistory, WaitingRoom
from queueing.services.challenges import CLOCK_SKEW_MARGIN_SECONDS
from tests.factories import ConcertFactory, UserFactory
from tests.support.challenges import altered, challenge_room, decoded, encoded, solve, solved
from tests.support.concurrency import run_at_once

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_redis_keys(redis_prefix):
    """Redeemed challenges are kept under the queue's key prefix: one of this test's own, deleted afterwards."""


@pytest.fixture
def room(concert):
    return challenge_room(concert)


def redeem(concert, payload, **kwargs):
    services.redeem_solution(concert=concert, payload=payload, **kwargs)


def refusal(concert, payload, **kwargs):
    with pytest.raises(ChallengeFailed) as refused:
        redeem(concert, payload, **kwargs)
    return refused.value


def test_a_solved_challenge_is_redeemed_and_the_fan_joins(concert, room):
    redeem(concert, solved(concert))
    fan = UserFactory()
    assert services.join(user=fan, concert=concert).admitted
    assert QueueEntryHistory.objects.filter(concert=concert, user=fan).count() == 1


def test_the_challenge_is_alcthas_v1_json_with_the_rooms_difficulty_the_concert_and_an_expiry(concert, room, settings):
    room.challenge_max_number = 5000
    room.save(update_fields=["challenge_max_number"])
    now = timezone.now()
    challenge = services.issue_challenge(concert=concert, now=now)
    assert set(challenge) == {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    assert (challenge["algorithm"], challenge["maxNumber"]) == ("SHA-256", 5000)
    expires = int(now.timestamp()) + settings.ALTCHA_EXPIRES_SECONDS
    assert f"expires={expires}" in challenge["salt"] and f"concert={concert.pk}" in challenge["salt"]
    assert decoded(solve(challenge))["number"] <= 5000
    assert services.issue_challenge(concert=concert, now=now)["salt"] != challenge["salt"]  # a new one each time


def test_a_concert_without_a_room_yet_gets_a_new_rooms_challenge_and_no_room_is_made(concert, settings):
    settings.ALTCHA_MAX_NUMBER = 2000
    assert services.issue_challenge(concert=concert)["maxNumber"] == 2000
    assert not WaitingRoom.objects.filter(pk=concert.pk).exists()


def test_a_forged_signature_is_refused(concert, room):
    payload = solved(concert)
    refusal(concert, altered(payload, signature="0" * 64))


def test_a_challenge_signed_with_another_key_is_refused(concert, room, settings):
    settings.ALTCHA_HMAC_KEY = "someone else's key"
    payload = solved(concert)
    settings.ALTCHA_HMAC_KEY = "the site's key"
    refusal(concert, payload)


def test_a_wrong_number_is_refused(concert, room):
    payload = solved(concert)
    refusal(concert, altered(payload, number=decoded(payload)["number"] + 1))


def test_a_salt_changed_to_live_longer_or_to_fit_another_concert_breaks_the_signature(concert, room):
    payload = solved(concert)
    salt = decoded(payload)["salt"]
    refusal(concert, altered(payload, salt=salt.replace("expires=", "expires=9")))
    other = ConcertFactory()
    challenge_room(other)
    refusal(other, altered(payload, salt=salt.replace(str(concert.pk), str(other.pk))))


def test_an_expired_solution_is_refused_with_its_own_message(concert, room, settings):
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.ALTCHA_EXPIRES_SECONDS + 1)
    with translation.override("en"):
        refused = refusal(concert, solved(concert, now=long_ago))
        assert "expired" in str(refused.message)

    payload = solved(concert)
    later = timezone.now() + datetime.timedelta(seconds=settings.ALTCHA_EXPIRES_SECONDS + 1)
    refusal(concert, payload, now=later)
    redeem(concert, payload)  # still good now: the refusal did not use it up


def test_another_concerts_solution_is_refused(concert, room):
    other = ConcertFactory()
    challenge_room(other)
    refusal(concert, solved(other))


def test_a_replayed_solution_is_refused(concert, room):
    payload = solved(concert)
    redeem(concert, payload)
    refusal(concert, payload)


def test_a_solution_is_remembered_only_until_it_expires(concert, room, settings):
    from redis import Redis

    settings.ALTCHA_EXPIRES_SECONDS = 30
    redeem(concert, solved(concert))
    keys = list(Redis.from_url(settings.REDIS_URL).scan_iter(match=f"{settings.QUEUE_REDIS_PREFIX}:*redeemed*"))
    assert len(keys) == 1
    # Until it expires, plus the margin for servers whose clocks run behind.
    assert 30 < Redis.from_url(settings.REDIS_URL).ttl(keys[0]) <= 30 + CLOCK_SKEW_MARGIN_SECONDS


def test_without_redis_the_cache_remembers_redeemed_solutions(concert, room, settings):
    settings.REDIS_URL = ""
    payload = solved(concert)
    redeem(concert, payload)
    refusal(concert, payload)
    cache.clear()


def test_redis_out_of_reach_refuses_with_the_queues_503_rather_than_risk_a_replay(concert, room, settings):
    payload = solved(concert)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    with pytest.raises(QueueUnavailable) as refused:
        redeem(concert, payload)
    assert refused.value.status == 503


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "",
        "not base64!",
        encoded(5),
        encoded(["algorithm", "challenge", "number", "salt", "signature"]),
        encoded("algorithm challenge number salt signature"),
        encoded({"algorithm": "SHA-256"}),
        "A" * 5000,
    ],
    ids=["none", "empty", "garbage", "a-number", "a-list", "a-string", "fields-missing", "oversized"],
)
def test_a_missing_or_malformed_payload_is_refused(concert, room, payload):
    refusal(concert, payload)


def test_fields_of_the_wrong_type_or_another_algorithm_are_refused(concert, room):
    payload = solved(concert)
    refusal(concert, altered(payload, number=True))
    refusal(concert, altered(payload, number=str(decoded(payload)["number"])))
    refusal(concert, altered(payload, salt=None))
    refusal(concert, altered(payload, algorithm="SHA-1"))
    refusal(concert, altered(payload, signature="서명"))
    refusal(concert, altered(payload, challenge="도전", salt="소금"))
    redeem(concert, payload)  # the untouched one still passes


def test_a_missing_solution_says_the_check_needs_javascript(concert, room):
    with translation.override("en"):
        assert "JavaScript" in str(refusal(concert, None).message)
    with translation.override("ko"):
        assert "자바스크립트" in str(refusal(concert, "").message)


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: encoded(b.hex()))))
def test_any_text_is_refused_cleanly(concert, room, payload):
    refusal(concert, payload)


@given(
    fields=st.dictionaries(
        st.sampled_from(["algorithm", "challenge", "number", "salt", "signature"]),
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40), st.lists(st.integers(), max_size=3)),
    )
)
@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_json_object_is_refused_cleanly(concert, room, fields):
    refusal(concert, encoded(fields))


@given(
    fields=st.fixed_dictionaries(
        {
            "algorithm": st.just("SHA-256"),
            "challenge": st.text(max_size=70),
            "number": st.integers(),
            "salt": st.text(max_size=80),
            "signature": st.text(max_size=70),
        }
    )
)
@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_well_typed_payload_that_was_not_issued_is_refused_cleanly(concert, room, fields):
    refusal(concert, encoded(fields))


def test_with_the_challenge_off_no_solution_is_needed(concert):
    challenge_room(concert, enabled=False)
    redeem(concert, None)
    redeem(concert, "garbage")


def test_a_new_room_asks_for_the_challenge_as_the_setting_says(settings):
    settings.QUEUE_CHALLENGE_DEFAULT = True
    on = ConcertFactory()
    refusal(on, None)
    assert WaitingRoom.objects.create(concert=on).challenge_enabled
    settings.QUEUE_CHALLENGE_DEFAULT = False
    off = ConcertFactory()
    redeem(off, None)
    assert not WaitingRoom.objects.create(concert=off).challenge_enabled


@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_solution_at_once_redeem_it_once(concert, room):
    payload = solved(concert)
    outcomes = run_at_once(lambda: redeem(concert, payload), [()] * 4)
    errors = [error for _result, error in outcomes]
    assert errors.count(None) == 1
    assert all(isinstance(error, ChallengeFailed) for error in errors if error is not None)
