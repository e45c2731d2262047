"""Hypothesis drives random sequences of hold / pay / cancel / expire / charge / staff actions for several
fans on two dates, and checks every invariant after each step, including the balances against a model."""

import datetime

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from booking import services
from booking.exceptions import BookingError
from booking.models import Reservation
from concerts.pricing import PriceTier
from tests import factories
from tests.support.checks import assert_consistent, seat_snapshot
from wallet import selectors as wallet_selectors
from wallet import services as wallet_services
from wallet.exceptions import WalletError

FANS, DATES = 3, 2
# Weighted by repetition: the steps that build state come up more often than the ones that tear it down.
KINDS = ["hold"] * 4 + ["pay"] * 3 + ["cancel"] * 2 + ["tick"] * 2 + ["expire", "charge", "refund", "release"]
VALID_SEATS = st.lists(st.integers(1, 6), min_size=1, max_size=3, unique=True)
ANY_SEATS = st.lists(st.integers(-1, 52), max_size=6)


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_booking_sequences_keep_every_invariant(data):
    with transaction.atomic():
        _World(data).run(data.draw(st.integers(1, 25), label="steps"))
        transaction.set_rollback(True)  # each example starts from an empty database


class _World:
    def __init__(self, data):
        self.data = data
        self.now = timezone.now()
        concert = factories.ConcertFactory(
            sale_opens_at=self.now - datetime.timedelta(hours=1), start_time=self.now + datetime.timedelta(days=2)
        )
        first_day = timezone.localdate(concert.start_time)
        self.dates = [
            factories.ConcertDateFactory(
                concert=concert,
                concert_date=first_day + datetime.timedelta(days=i),
                tiers=[PriceTier("A", 1, 3, 50_000), PriceTier("B", 4, 50, 30_000)],
            )
            for i in range(DATES)
        ]
        self.fans = [factories.UserFactory() for _ in range(FANS)]
        self.staff = factories.StaffFactory()
        self.created = []
        self.balances = [0, 100_000, 200_000]
        for fan, amount in zip(self.fans, self.balances, strict=True):
            if amount:
                wallet_services.charge(user=fan, amount=amount, now=self.now)

    def draw(self, strategy, label):
        return self.data.draw(strategy, label=label)

    def snapshot(self):
        return [seat_snapshot(d) for d in self.dates], [wallet_selectors.balance(user=f) for f in self.fans]

    def run(self, steps):
        before = self.snapshot()
        for _ in range(steps):
            kind = self.draw(st.sampled_from(KINDS), "kind")
            # In creation order (tracked here: timestamps tie and ids are random), so draws replay exactly.
            by_id = Reservation.objects.select_related("seat").in_bulk(self.created)
            reservations = [by_id[pk] for pk in self.created]
            try:
                getattr(self, kind)(reservations)
                event(f"{kind} done")
                after = self.snapshot()
            except (BookingError, WalletError) as refusal:
                event(f"{kind} refused: {type(refusal).__name__}")
                assert str(refusal.message)
                after = self.snapshot()
                if kind == "pay":
                    # A refused payment records itself (and sweeps holds that had already expired), nothing else.
                    assert after[1] == before[1]
                    assert Reservation.objects.filter(status="CONFIRMED").count() == sum(
                        r.status == "CONFIRMED" for r in reservations
                    )
                else:
                    assert after == before, kind  # every other refusal changes nothing
            self.check()
            before = after

    def check(self):
        assert_consistent()
        assert [wallet_selectors.balance(user=f) for f in self.fans] == self.balances
        live = (
            Reservation.objects.filter(Q(status="CONFIRMED") | Q(status="HOLD", hold_expire_at__gt=self.now))
            .values("user", "seat__concert_date")
            .annotate(n=Count("id"))
        )
        assert all(row["n"] <= django_settings.MAX_SEATS_PER_USER for row in live)

    # --- steps ---------------------------------------------------------------------------------

    def hold(self, reservations):
        f = self.draw(st.integers(0, FANS - 1), "fan")
        d = self.draw(st.integers(0, DATES - 1), "date")
        numbers = self.draw(st.one_of(VALID_SEATS, VALID_SEATS, VALID_SEATS, ANY_SEATS), "seats")
        held = services.hold_seats(user=self.fans[f], concert_date=self.dates[d], seat_numbers=numbers, now=self.now)
        self.created += [r.pk for r in held]

    def pay(self, reservations):
        holds = [r for r in reservations if r.status == "HOLD"]
        if holds and self.draw(st.integers(0, 3), "pay a hold") > 0:
            hold = self.draw(st.sampled_from(holds), "hold")
            f, d = self.fans.index(hold.user), self.dates.index(hold.seat.concert_date)
        else:
            f, d = self.draw(st.integers(0, FANS - 1), "fan"), self.draw(st.integers(0, DATES - 1), "date")
        key = self.draw(st.sampled_from(["k1", "k2"]), "key")
        result = services.pay(user=self.fans[f], concert_date=self.dates[d], idempotency_key=key, now=self.now)
        event(f"pay replayed={result.replayed}")
        if not result.replayed:
            self.balances[f] -= result.total
        assert result.balance_after == self.balances[f]

    def cancel(self, reservations):
        f = self.draw(st.integers(0, FANS - 1), "fan")
        own = [r for r in reservations if r.user_id == self.fans[f].pk and r.status == "CONFIRMED"]
        pool = own if own and self.draw(st.integers(0, 3), "own") > 0 else reservations
        if not pool:
            return
        reservation = self.draw(st.sampled_from(pool), "reservation")
        cancelled = services.cancel(user=self.fans[f], reservation=reservation, now=self.now)
        assert cancelled.refunded + cancelled.fee_charged == reservation.price  # the shows are days away: a fee
        self.balances[f] += cancelled.refunded

    def refund(self, reservations):
        if not reservations:
            return
        reservation = self.draw(st.sampled_from(reservations), "reservation")
        services.refund_and_cancel(reservation=reservation, by=self.staff, now=self.now)
        if reservation.status == "CONFIRMED":  # as read before the refund
            self.balances[self.fans.index(reservation.user)] += reservation.price

    def release(self, reservations):
        if not reservations:
            return
        reservation = self.draw(st.sampled_from(reservations), "reservation")
        services.release_hold(reservation=reservation, by=self.staff, now=self.now)

    def expire(self, reservations):
        services.expire_holds(now=self.now)

    def charge(self, reservations):
        f = self.draw(st.integers(0, FANS - 1), "fan")
        amount = self.draw(st.sampled_from([500, 1_000, 60_000, 150_000, 1_000_000, "12.5", "x"]), "amount")
        row = wallet_services.charge(user=self.fans[f], amount=amount, now=self.now)
        self.balances[f] += row.amount

    def tick(self, reservations):
        self.now += datetime.timedelta(seconds=self.draw(st.sampled_from([1, 150, 301, 3_600, 86_400]), "seconds"))
