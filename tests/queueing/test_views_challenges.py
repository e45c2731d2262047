"""The entry challenge over HTTP: the challenge JSON, the widget in the join forms, and the join POST that needs a
solved challenge when the room asks for one (refused with 403 and nothing changed otherwise)."""

import datetime
import json

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from queueing import services
from queueing.gate import room_url
from queueing.models import QueueEntryHistory
from tests.factories import ConcertDateFactory, ConcertFactory, UserFactory
from tests.support.challenges import EASY, altered, challenge_room, decoded, solve, solved
from tests.support.concurrency import run_at_once

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings, redis_prefix):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def fan(db):
    return UserFactory()


@pytest.fixture
def fan_client(client, fan):
    client.force_login(fan)
    return client


@pytest.fixture
def room(concert):
    return challenge_room(concert)


def challenge_url(concert):
    return reverse("queueing:challenge", kwargs={"concert_id": concert.pk})


def fetched_and_solved(client, concert):
    """What a scripted client does: fetch the room's challenge JSON, solve it with the altcha package."""
    response = client.get(challenge_url(concert))
    assert response.status_code == 200
    return solve(response.json())


# --- the challenge JSON ---------------------------------------------------------------------------------------


def test_the_challenge_json_has_the_rooms_difficulty_and_is_never_cached(fan_client, concert, room):
    room.challenge_max_number = 4321
    room.save(update_fields=["challenge_max_number"])
    response = fan_client.get(challenge_url(concert))
    assert response.status_code == 200
    challenge = response.json()
    assert (challenge["algorithm"], challenge["maxNumber"]) == ("SHA-256", 4321)
    assert f"concert={concert.pk}" in challenge["salt"]
    assert "no-store" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
    assert fan_client.get(challenge_url(concert)).json()["challenge"] != challenge["challenge"]


def test_the_challenge_json_needs_a_login_and_a_concert(client, fan_client, concert, room):
    assert Client().get(challenge_url(concert)).status_code == 401
    unknown = reverse("queueing:challenge", kwargs={"concert_id": "00000000-0000-0000-0000-000000000000"})
    assert fan_client.get(unknown).status_code == 404
    assert fan_client.post(challenge_url(concert)).status_code == 405


# --- the widget in the join forms --------------------------------------------------------------------------------


def test_the_waiting_room_page_puts_the_widget_in_its_join_form(fan_client, concert, room):
    body = fan_client.get(room_url(concert)).content.decode()
    form = body[body.index(f'<form method="post" action="{room_url(concert)}"') :]
    form = form[: form.index("</form>")]
    assert "<altcha-widget" in form and 'name="altcha"' in form and 'auto="onsubmit"' in form
    assert f'challengeurl="{challenge_url(concert)}"' in form
    assert 'src="/static/vendor/altcha/altcha.js"' in form and 'type="module"' in form
    assert 'workerurl="/static/vendor/altcha/worker.js"' in form
    assert "<noscript>" in form and "needs JavaScript" in form
    strings = json.loads(form.split('strings="')[1].split('"')[0].replace("&quot;", '"'))
    assert strings["label"] == "Checked automatically when you join" and strings["waitAlert"] == ""


def test_the_widget_speaks_korean_on_a_korean_page(fan_client, concert, room, settings):
    settings.LANGUAGE_CODE = "ko"
    body = fan_client.get(room_url(concert)).content.decode()
    assert "대기열 입장 시 자동으로 확인됩니다" in body
    assert "자바스크립트가 필요합니다" in body


def test_the_concert_page_puts_the_widget_in_its_date_form_for_a_logged_in_fan(client, fan_client, room):
    date = ConcertDateFactory(concert=room.concert)
    body = fan_client.get(reverse("concerts:detail", kwargs={"concert_id": room.concert.pk})).content.decode()
    form = body[body.index('class="date-form"') :]
    assert form.index("<altcha-widget") < form.index(f'value="{date.pk}"') < form.index("</form>")
    anonymous = Client().get(reverse("concerts:detail", kwargs={"concert_id": room.concert.pk}))
    assert "<altcha-widget" not in anonymous.content.decode()


def test_the_concert_page_puts_the_widget_in_its_pre_queue_form(fan_client, settings):
    settings.PREQUEUE_MINUTES = 30
    concert = ConcertFactory(sale_opens_at=timezone.now() + datetime.timedelta(minutes=10))
    challenge_room(concert)
    body = fan_client.get(reverse("concerts:detail", kwargs={"concert_id": concert.pk})).content.decode()
    form = body[body.index('data-testid="prequeue-open"') :]
    assert form.index("<altcha-widget") < form.index('data-testid="enter-prequeue"')
    assert body.count("<altcha-widget") == 1  # not in the date list: its buttons wait for the sale


def test_no_widget_where_nothing_is_to_be_solved(fan_client, concert):
    challenge_room(concert, enabled=False)
    assert "<altcha-widget" not in fan_client.get(room_url(concert)).content.decode()
    later = ConcertFactory(sale_opens_at=timezone.now() + datetime.timedelta(days=2))
    challenge_room(later)
    page = fan_client.get(reverse("concerts:detail", kwargs={"concert_id": later.pk}))
    assert "<altcha-widget" not in page.content.decode()  # not open yet: nothing to join


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_no_widget_for_a_fan_who_holds_a_place_in_the_room(settings, fan_client, fan, concert, room, backend):
    settings.QUEUE_BACKEND = backend
    ConcertDateFactory(concert=concert)
    concert_url = reverse("concerts:detail", kwargs={"concert_id": concert.pk})
    assert "<altcha-widget" in fan_client.get(concert_url).content.decode()
    services.join(user=fan, concert=concert)  # admitted at once: the concert page's Book just goes on
    assert "<altcha-widget" not in fan_client.get(concert_url).content.decode()
    other = ConcertFactory()
    challenge_room(other)
    assert "<altcha-widget" in fan_client.get(room_url(other)).content.decode()  # a place elsewhere counts not
    services.leave(user=fan, concert=concert)
    assert "<altcha-widget" in fan_client.get(concert_url).content.decode()


# --- joining with and without a solution --------------------------------------------------------------------------


def test_a_solved_challenge_joins(fan_client, fan, concert, room):
    response = fan_client.post(room_url(concert), {"altcha": fetched_and_solved(fan_client, concert)})
    assert response.status_code == 302
    assert QueueEntryHistory.objects.filter(concert=concert, user=fan).count() == 1


def _forged(concert, payload):
    return altered(payload, signature="f" * 64)


def _wrong_number(concert, payload):
    return altered(payload, number=decoded(payload)["number"] + 1)


def _expired(concert, payload):
    return solved(concert, now=timezone.now() - datetime.timedelta(hours=1))


def _another_concerts(concert, payload):
    other = ConcertFactory()
    challenge_room(other)
    return solved(other)


def _missing(concert, payload):
    return None


def _replayed(concert, payload):
    other = Client()
    other.force_login(UserFactory())
    assert other.post(room_url(concert), {"altcha": payload}).status_code == 302
    return payload


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_forged, "did not pass"),
        (_wrong_number, "did not pass"),
        (_expired, "expired"),
        (_another_concerts, "did not pass"),
        (_missing, "needs JavaScript"),
        (_replayed, "did not pass"),
    ],
    ids=["forged", "wrong-number", "expired", "another-concert", "missing", "replayed"],
)
def test_a_spoiled_solution_is_refused_with_403_and_nothing_changes(
    queue_backend, fan_client, fan, concert, room, spoil, message
):
    payload = spoil(concert, solved(concert))
    before = QueueEntryHistory.objects.count()
    response = fan_client.post(room_url(concert), {"altcha": payload} if payload else {})
    assert response.status_code == 403
    assert message in response.content.decode()
    assert "<altcha-widget" in response.content.decode()  # a new challenge to try again with
    assert QueueEntryHistory.objects.count() == before
    assert not QueueEntryHistory.objects.filter(user=fan).exists()
    assert fan_client.get(room_url(concert)).context["queue"] is None


def test_a_scripted_client_solves_with_the_altcha_package_and_joins_once(fan_client, fan, concert, room):
    payload = fetched_and_solved(fan_client, concert)
    assert fan_client.post(room_url(concert), {"altcha": payload}).status_code == 302
    # Holding a place (a second tab, a double click), the fan keeps it: no challenge spent, no new visit.
    assert fan_client.post(room_url(concert), {}).status_code == 302
    assert QueueEntryHistory.objects.filter(concert=concert, user=fan).count() == 1
    # Once the place is given up, the used solution is refused; a fresh one joins again.
    fan_client.post(reverse("queueing:leave", kwargs={"concert_id": concert.pk}))
    assert fan_client.post(room_url(concert), {"altcha": payload}).status_code == 403
    assert fan_client.post(room_url(concert), {"altcha": fetched_and_solved(fan_client, concert)}).status_code == 302
    assert QueueEntryHistory.objects.filter(concert=concert, user=fan).count() == 2


def test_a_refused_entry_does_not_spend_the_solution(fan_client, fan):
    later = ConcertFactory(sale_opens_at=timezone.now() + datetime.timedelta(minutes=32))  # pre-queue in 2 min
    challenge_room(later)
    payload = fetched_and_solved(fan_client, later)
    assert fan_client.post(room_url(later), {"altcha": payload}).status_code == 409  # not open yet
    with time_machine.travel(later.prequeue_starts_at + datetime.timedelta(seconds=1), tick=False):
        assert fan_client.post(room_url(later), {"altcha": payload}).status_code == 302


def test_with_the_challenge_off_the_form_joins_without_a_solution(fan_client, fan, concert):
    challenge_room(concert, enabled=False)
    assert fan_client.post(room_url(concert)).status_code == 302
    assert QueueEntryHistory.objects.filter(concert=concert, user=fan).exists()


def test_redis_out_of_reach_answers_503_and_nothing_changes(fan_client, fan, concert, room, settings):
    payload = solved(concert)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = fan_client.post(room_url(concert), {"altcha": payload})
    assert response.status_code == 503
    assert not QueueEntryHistory.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_fans_posting_one_solution_at_once_let_exactly_one_in(queue_backend, concert):
    challenge_room(concert, max_number=EASY)
    payload = solved(concert)
    clients = []
    for _ in range(2):
        client = Client()
        client.force_login(UserFactory())
        clients.append(client)

    outcomes = run_at_once(
        lambda client: client.post(room_url(concert), {"altcha": payload}).status_code, [(c,) for c in clients]
    )
    assert sorted(status for status, _error in outcomes) == [302, 403]
    assert QueueEntryHistory.objects.filter(concert=concert).count() == 1
