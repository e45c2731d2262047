"""Hostile input, case by case: each answer is a 4xx page (or JSON error) with a message, and nothing changes.

"Nothing changes" is checked on every row a request could touch (tests.security.fixtures.state_snapshot):
seats, reservations, payments, the wallet ledger, balances and the waiting-room history. A refused top-up
is recorded as a FAILED ChargeHistory row by design; the snapshot counts successful ones only.
"""

import datetime
import uuid

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from booking.models import Payment, Reservation
from tests import factories
from tests.security.fixtures import admit, assert_ledger_reconciles, hold, login_client, pay, state_snapshot
from tests.support.checks import assert_consistent
from wallet.models import ChargeHistory

pytestmark = pytest.mark.django_db


def assert_refused(response, *, status=None, message=None):
    assert 400 <= response.status_code < 500, response.status_code
    if status is not None:
        assert response.status_code == status
    body = response.content.decode()
    assert "Traceback" not in body
    if response["Content-Type"].startswith("application/json"):
        assert response.json().get("error")
    else:
        assert 'class="site-header"' in body  # a page of the site, not a bare error
    if message is not None:
        assert message in body, body[:3000]


# --- amounts -------------------------------------------------------------------------------------

HOSTILE_AMOUNTS = [
    ("-5000", "최소"),
    ("-1", "최소"),
    ("0", "최소"),
    ("999", "최소"),
    ("1000.5", None),
    ("0.0001", None),
    ("1e4", None),
    ("1,0000", None),
    (str(settings.MAX_CHARGE + 1), "최대"),
    (str(2**63), "최대"),  # one past a 64-bit integer
    (str(2**64 + 12345), "최대"),
    ("9" * 400, "최대"),
    ("9" * 5000, None),
    ("abc", None),
    ("", None),
    ("   ", None),
    ("NaN", None),
    ("Infinity", None),
    ("0x1000", None),
    ("10000\x00", None),
    ("<script>alert(1)</script>", None),
    ("'; DROP TABLE wallet_chargehistory; --", None),
]


@pytest.mark.parametrize(("amount", "message"), HOSTILE_AMOUNTS)
def test_a_hostile_top_up_amount_is_refused_with_a_message(alice, alice_client, amount, message):
    before = state_snapshot()
    failed_before = ChargeHistory.objects.filter(status="FAILED").count()
    response = alice_client.post(reverse("wallet:charge"), {"amount": amount})
    assert_refused(response, status=400, message=message)
    assert 'class="message message-error"' in response.content.decode()
    assert state_snapshot() == before
    assert ChargeHistory.objects.filter(status="FAILED").count() == failed_before + 1  # on record, with the reason
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert_ledger_reconciles()


def test_full_width_digits_top_up_exactly_the_amount_they_spell(alice, alice_client):
    # A Korean IME may type full-width digits: they mean the same number, never more.
    balance = User.objects.get(pk=alice.pk).balance
    response = alice_client.post(reverse("wallet:charge"), {"amount": "１００００"})
    assert response.status_code == 302
    assert User.objects.get(pk=alice.pk).balance == balance + 10_000
    assert_ledger_reconciles()


def test_a_top_up_that_would_pass_the_balance_cap_is_refused(alice, alice_client, settings):
    settings.MAX_BALANCE = alice.balance + 5_000
    before = state_snapshot()
    assert_refused(alice_client.post(reverse("wallet:charge"), {"amount": "10000"}), status=400)
    assert state_snapshot() == before


def test_a_top_up_without_the_amount_field_is_refused(alice_client):
    before = state_snapshot()
    assert_refused(alice_client.post(reverse("wallet:charge"), {}), status=400)
    assert state_snapshot() == before


# --- seats ---------------------------------------------------------------------------------------


@pytest.fixture
def admitted_alice(alice, concert_date):
    admit(alice, concert_date.concert)
    return alice


HOSTILE_SEATS = [
    (["0"], 400),
    (["51"], 400),
    (["-1"], 400),
    (["3", "3"], 400),  # repeated
    # A refusal the seat map's own form can cause goes back to the map (303) with its message.
    (["1", "2", "3", "4", "5"], 303),  # more than MAX_SEATS_PER_USER
    ([str(n) for n in range(1, 51)], 303),
    (["abc"], 400),
    (["1.5"], 400),
    (["99999999999999999999999"], 400),
    (["1" * 4301], 400),  # more digits than Python's int() reads from text
    (["", "2"], 400),
    (["٣"], 400),  # an Arabic-Indic digit three
    ([], 303),  # nothing checked
    (["<b>7</b>"], 400),
]


@pytest.mark.parametrize(("seats", "status"), HOSTILE_SEATS)
def test_a_hostile_seat_selection_is_refused_with_a_message(alice_client, admitted_alice, concert_date, seats, status):
    before = state_snapshot()
    response = alice_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": seats})
    if status == 303:
        assert response.status_code == 303
        assert response["Location"].startswith(reverse("booking:seats", args=[concert_date.pk]))
        response = alice_client.get(response["Location"])
    else:
        assert_refused(response, status=status)
    assert 'class="message message-error"' in response.content.decode()
    assert "<b>7</b>" not in response.content.decode()
    assert state_snapshot() == before


def test_a_repeated_seat_is_refused_even_when_holding_it_once_would_be_fine(alice_client, admitted_alice, concert_date):
    response = alice_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": ["3", "3"]})
    assert_refused(response, status=400, message="같은 좌석은 한 번만 선택해 주세요.")
    assert not Reservation.objects.exists()


def test_thousands_of_seat_fields_are_refused_without_reading_them(alice_client, admitted_alice, concert_date):
    before = state_snapshot()
    response = alice_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": ["1"] * 5000})
    assert response.status_code == 400
    assert state_snapshot() == before


def test_holding_more_than_the_limit_across_two_requests_is_refused(alice, alice_client, admitted_alice, concert_date):
    hold(alice, concert_date, 1, 2, 3)
    before = state_snapshot()
    response = alice_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": ["4", "5"]})
    assert response.status_code == 303  # back to the seat map, which says why
    seat_map = alice_client.get(response["Location"]).content.decode()
    assert f"최대 {settings.MAX_SEATS_PER_USER}매" in seat_map
    assert state_snapshot() == before


# --- ids in URLs -----------------------------------------------------------------------------------

MALFORMED_IDS = [
    "not-a-uuid",
    "123",
    "00000000-0000-0000-0000-00000000000",  # one digit short
    "00000000-0000-0000-0000-0000000000000",  # one digit long
    "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "'%20OR%201=1",
    "<script>",
]

ID_ROUTES = [
    ("/concerts/{}/", "get"),
    ("/concerts/{}/queue/", "get"),
    ("/concerts/{}/queue/", "post"),
    ("/concerts/{}/queue/status/", "get"),
    ("/concerts/{}/queue/leave/", "post"),
    ("/dates/{}/seats/", "get"),
    ("/dates/{}/hold/", "post"),
    ("/checkout/{}/", "get"),
    ("/checkout/{}/", "post"),
    ("/reservations/{}/cancel/", "post"),
]


@pytest.mark.parametrize(("route", "method"), ID_ROUTES)
def test_malformed_and_unknown_ids_in_every_url_answer_404(alice, alice_client, concert_date, route, method):
    admit(alice, concert_date.concert)
    hold(alice, concert_date, 9)
    pay(alice, concert_date)
    before = state_snapshot()
    for value in [*MALFORMED_IDS, str(uuid.uuid4()), str(concert_date.pk).upper(), str(uuid.UUID(int=0))]:
        url = route.format(value)
        response = getattr(alice_client, method)(url, {"seats": ["1"], "idempotency_key": str(uuid.uuid4())})
        if value == str(concert_date.pk).upper() and route.startswith(("/dates/", "/checkout/")):
            continue  # the same date in capitals is the same date: answered normally
        assert response.status_code == 404, (url, response.status_code)
        assert "<script>" not in response.content.decode()
    assert state_snapshot() == before


def test_the_404_page_is_the_site_s_page(alice_client):
    response = alice_client.get(f"/dates/{uuid.uuid4()}/seats/")
    assert_refused(response, status=404)


def test_another_concert_s_id_in_the_seat_url_does_not_work_as_a_date(alice, alice_client, concert_date):
    admit(alice, concert_date.concert)
    response = alice_client.get(reverse("booking:seats", args=[concert_date.concert.pk]))
    assert response.status_code == 404


# --- time-dependent refusals -----------------------------------------------------------------------


def test_a_payment_after_the_hold_expired_is_refused_and_charges_nothing(alice, alice_client, concert_date):
    admit(alice, concert_date.concert)
    hold(alice, concert_date, 5, 6)
    later = timezone.now() + datetime.timedelta(seconds=settings.HOLD_SECONDS + 1)
    balance = User.objects.get(pk=alice.pk).balance
    with time_machine.travel(later, tick=False):
        response = alice_client.post(
            reverse("booking:checkout", args=[concert_date.pk]), {"idempotency_key": str(uuid.uuid4())}
        )
    assert_refused(response, status=409, message="5, 6")
    assert User.objects.get(pk=alice.pk).balance == balance
    assert set(Payment.objects.values_list("status", flat=True)) == {"FAILED"}
    assert set(Reservation.objects.values_list("status", flat=True)) == {"EXPIRED"}
    assert_consistent()


def test_a_cancel_after_the_cutoff_is_refused_and_refunds_nothing(alice, alice_client):
    soon = factories.ConcertDateFactory(
        concert__start_time=timezone.now() + datetime.timedelta(hours=settings.CANCEL_CUTOFF_HOURS + 2)
    )
    admit(alice, soon.concert)
    hold(alice, soon, 1)
    reservation = pay(alice, soon).reservations[0]
    before = state_snapshot()
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=3), tick=False):
        response = alice_client.post(reverse("booking:cancel", args=[reservation.pk]))
    assert_refused(response, status=409)
    assert state_snapshot() == before


def test_cancelling_a_hold_or_an_already_cancelled_reservation_is_refused(alice, alice_client, concert_date):
    admit(alice, concert_date.concert)
    held = hold(alice, concert_date, 1)[0]
    before = state_snapshot()
    assert_refused(alice_client.post(reverse("booking:cancel", args=[held.pk])), status=409)
    assert state_snapshot() == before


def test_a_checkout_key_that_is_not_a_uuid_is_refused(alice, alice_client, concert_date):
    admit(alice, concert_date.concert)
    hold(alice, concert_date, 1)
    before = state_snapshot()
    for key in ["", "x" * 10_000, "'; --", "00000000-0000-0000-0000-00000000000g"]:
        response = alice_client.post(reverse("booking:checkout", args=[concert_date.pk]), {"idempotency_key": key})
        assert_refused(response, status=400)
    assert state_snapshot() == before


# --- names and e-mails -------------------------------------------------------------------------------

GOOD_PASSWORD = "violet-harbor-2931"


def _signup(client, **fields):
    data = {"email": "new@example.com", "name": "New Fan", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}
    data.update(fields)
    return client.post(reverse("accounts:signup"), data)


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "N" * 10_000},
        {"name": "가" * 101},
        {"email": "a" * 300 + "@example.com"},
        {"email": ("a" * 64 + ".") * 100 + "@example.com"},
        {"email": "not-an-email"},
        {"email": "alice@example.com"},  # taken
        {"email": "ALICE@EXAMPLE.COM"},  # taken, other case
        {"name": ""},
        {"name": "nul\x00byte"},
        {"email": "nul\x00@example.com"},
        {"password1": "x" * 5000, "password2": "y" * 5000},
        {"password1": "password", "password2": "password"},
    ],
)
def test_hostile_sign_ups_are_refused_with_a_message(client, alice, fields):
    users = User.objects.count()
    response = _signup(client, **fields)
    assert_refused(response, status=400)
    assert 'class="errorlist' in response.content.decode()
    assert User.objects.count() == users
    assert "_auth_user_id" not in client.session


def test_a_very_long_login_is_refused_quietly(client, alice):
    for username, password in [("a" * 100_000 + "@example.com", "x"), (alice.email, "p" * 100_000)]:
        response = client.post(reverse("accounts:login"), {"username": username, "password": password})
        assert_refused(response, status=400)
    assert "_auth_user_id" not in client.session


HOSTILE_NAME = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&amp; 김팬 🎫 \u202emirror'


def test_unicode_and_html_in_a_name_are_kept_and_escaped_on_every_page(client, concert_date):
    response = _signup(client, name=HOSTILE_NAME, email="odd@example.com")
    assert response.status_code == 302
    fan = User.objects.get(email="odd@example.com")
    assert fan.name == HOSTILE_NAME  # stored exactly as typed
    admit(fan, concert_date.concert)
    pages = [
        reverse("concerts:list"),
        reverse("concerts:detail", args=[concert_date.concert.pk]),
        reverse("queueing:room", args=[concert_date.concert.pk]),
        reverse("booking:seats", args=[concert_date.pk]),
        reverse("booking:checkout", args=[concert_date.pk]),
        reverse("booking:reservations"),
        reverse("wallet:home"),
    ]
    for url in pages:
        body = client.get(url).content.decode()
        assert "<script>alert" not in body, url
        assert "<img src=x" not in body, url
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body, url  # shown, escaped
        assert "김팬 🎫" in body, url


def test_html_in_a_concert_title_is_escaped_on_the_fans_pages(alice, alice_client):
    date = factories.ConcertDateFactory(concert__title="<script>alert(1)</script>Rock", concert__venue="<b>Hall</b>")
    admit(alice, date.concert)
    for url in (
        reverse("concerts:list"),
        reverse("concerts:detail", args=[date.concert.pk]),
        reverse("booking:seats", args=[date.pk]),
    ):
        body = alice_client.get(url).content.decode()
        assert "<script>alert(1)" not in body and "<b>Hall</b>" not in body, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;Rock" in body, url


def test_a_hostile_next_parameter_never_redirects_off_site(client, alice):
    login = login_client(alice)
    for next_url in ("https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"):
        charge = login.post(reverse("wallet:charge"), {"amount": "1000", "next": next_url})
        assert charge.status_code == 302
        assert charge["Location"] == reverse("wallet:home")
        room = login.get(reverse("queueing:room", args=[uuid.uuid4()]) + f"?next={next_url}")
        assert room.status_code == 404
    assert_ledger_reconciles()
