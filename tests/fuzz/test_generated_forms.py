"""Hypothesis fills the top-up, hold and sign-up forms with generated input and posts them through the real
pages: never a 5xx, a refusal changes nothing, an acceptance does exactly what was asked, and the ledger
and every booking invariant still hold afterwards.

Each example runs in a transaction that is rolled back, so examples do not see each other's rows.
Example counts are modest (the suite shares a small machine); the edge cases come from the strategies.
"""

import string

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from booking.models import Reservation
from tests import factories
from tests.security.fixtures import admit, assert_ledger_reconciles, login_client, state_snapshot, top_up
from tests.support.checks import assert_consistent
from wallet.services import whole_won

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def rolled_back(work):
    with transaction.atomic():
        work()
        transaction.set_rollback(True)


# --- top-up -----------------------------------------------------------------------------------------

amounts = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.integers(min_value=0, max_value=2_000_000).map(str),
    st.integers(min_value=0, max_value=2_000_000).map(lambda n: f"{n:,}"),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.text(max_size=30),
    st.text(alphabet=string.digits + ",.+- e", max_size=25),
    st.sampled_from(["", " ", "0", "1000", "1,000", "1000.0", "1000.5", "1e3", "-0", "+5000", "0x10"]),
)


@EXAMPLES
@given(amount=amounts)
def test_generated_top_up_amounts_never_break_the_wallet(amount):
    def run():
        fan = factories.UserFactory()
        top_up(fan, 50_000)
        client = login_client(fan)
        before = User.objects.get(pk=fan.pk).balance
        response = client.post(reverse("wallet:charge"), {"amount": amount})
        assert response.status_code in (302, 400), response.status_code
        after = User.objects.get(pk=fan.pk).balance
        if response.status_code == 302:
            value = whole_won(amount)
            assert django_settings.MIN_CHARGE <= value <= django_settings.MAX_CHARGE
            assert after == before + value
        else:
            assert after == before
            assert "message-error" in response.content.decode()
        assert_ledger_reconciles()

    rolled_back(run)


# --- hold ---------------------------------------------------------------------------------------------

seat_values = st.one_of(
    st.integers(min_value=-3, max_value=55).map(str),
    st.integers().map(str),
    st.text(max_size=6),
    st.sampled_from(["", " 3", "3 ", "03", "3.0", "٣", "+3"]),
    # Past Python's limit of 4,300 digits for int() of text.
    st.builds(lambda digit, n: digit * n, st.sampled_from("19"), st.integers(4290, 4400)),
)


@EXAMPLES
@given(seats=st.lists(seat_values, max_size=8), taken=st.lists(st.integers(1, 50), max_size=5, unique=True))
def test_generated_seat_selections_hold_exactly_the_valid_request_or_nothing(seats, taken):
    def run():
        date = factories.ConcertDateFactory()
        other = factories.UserFactory()
        if taken:
            from booking import services

            services.hold_seats(user=other, concert_date=date, seat_numbers=taken[:4])
        fan = factories.UserFactory()
        admit(fan, date.concert)
        client = login_client(fan)
        before = state_snapshot()
        response = client.post(reverse("booking:hold", args=[date.pk]), {"seats": seats})
        # 302: held, to checkout. 303: refused, back to the seat map with the message. 400: not seat numbers.
        assert response.status_code in (302, 303, 400), response.status_code
        mine = sorted(Reservation.objects.filter(user=fan, status="HOLD").values_list("seat__seat_number", flat=True))
        if response.status_code == 303:
            response = client.get(response["Location"])
        if response.status_code == 302:
            numbers = sorted(int(s) for s in seats)
            assert [str(n) for n in numbers] == sorted(seats, key=int)  # each was a plain seat number
            assert len(set(numbers)) == len(numbers) <= django_settings.MAX_SEATS_PER_USER
            assert not set(numbers) & set(taken[:4])
            assert mine == numbers
        else:
            assert mine == []
            assert state_snapshot() == before
            assert "message-error" in response.content.decode()
        assert_consistent()

    rolled_back(run)


# --- sign-up ------------------------------------------------------------------------------------------

names = st.one_of(
    st.text(max_size=120),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20),
    st.sampled_from(["<script>alert(1)</script>", "김팬", "🎫" * 30, "\u202e", "a\x00b", "&amp;", "' OR 1=1 --"]),
)
emails = st.one_of(
    st.emails().map(lambda e: e[:300]),
    st.text(max_size=60),
    st.sampled_from(["", "a@b", "@example.com", "x@example.com\n", "ALICE@EXAMPLE.COM", "a" * 300 + "@x.io"]),
)
passwords = st.one_of(st.text(max_size=40), st.just("violet-harbor-2931"))


@EXAMPLES
@given(email=emails, name=names, password=passwords, confirm=st.booleans())
def test_generated_sign_ups_create_exactly_the_account_typed_or_nothing(email, name, password, confirm):
    def run():
        factories.UserFactory(email="alice@example.com")
        client = Client()
        users = User.objects.count()
        response = client.post(
            reverse("accounts:signup"),
            {"email": email, "name": name, "password1": password, "password2": password if confirm else password + "!"},
        )
        assert response.status_code in (302, 400), response.status_code
        if response.status_code == 302:
            created = User.objects.get(email=email.strip().lower())
            assert created.name == name.strip()
            assert created.check_password(password)
            assert User.objects.count() == users + 1
        else:
            assert User.objects.count() == users
            body = response.content.decode()
            assert 'class="errorlist' in body
            assert "<script>alert(1)</script>" not in body

    rolled_back(run)
