"""factory-boy factories for every model. Dates and seats go through concerts.services, like the real site."""

import datetime
import uuid

import factory
from django.utils import timezone

from accounts.models import User
from booking.models import Payment, Reservation
from concerts.models import Concert, ConcertDate, Presale, Seat, SeatStatusHistory
from concerts.services import create_concert_date
from queueing.models import QueueEntryHistory, QueueToken, WaitingRoom
from tests.support import two_factor
from wallet.models import ChargeHistory, UsageHistory


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"fan{n}@example.com")
    name = factory.Faker("name")
    balance = 0
    # Verified, so every test may join a waiting room; UserFactory(email_verified_at=None) for a fan who has not.
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True

    @factory.post_generation
    def authenticator(obj, create, extracted, **kwargs):
        """Staff have set up their authenticator app (a confirmed TOTP device with tests.support.two_factor's key),
        as staff who use the site have; StaffFactory(authenticator=False) for one who has not yet."""
        if create and extracted is not False:
            two_factor.confirmed_device(obj)


class ConcertFactory(factory.django.DjangoModelFactory):
    """A concert on sale now whose shows are a month away.

    Its span (start_time / end_time) is set here only so that a concert without dates behaves as one with
    shows ahead; creating its first date (ConcertDateFactory) sets the span from its dates, as on the site.
    """

    class Meta:
        model = Concert

    title = factory.Sequence(lambda n: f"Concert {n}")
    description = "An evening of music."
    venue = "Olympic Hall"
    # On the minute, as staff set starts (the admin's time field has no microseconds).
    start_time = factory.LazyFunction(
        lambda: (timezone.now() + datetime.timedelta(days=30)).replace(second=0, microsecond=0)
    )
    end_time = factory.LazyAttribute(lambda o: o.start_time + datetime.timedelta(days=3))
    sale_opens_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))


def _start_of(concert, day):
    """`day` at the local time of day of the concert's first show (19:00 if it has none)."""
    at = timezone.localtime(concert.start_time).time() if concert.start_time else datetime.time(19, 0)
    return datetime.datetime.combine(day, at, tzinfo=timezone.get_current_timezone())


class ConcertDateFactory(factory.django.DjangoModelFactory):
    """A date with all its seats, created by concerts.services.create_concert_date.

    It starts at `starts_at` (default: the concert's start_time); `concert_date=<a day>` is a shorthand for
    that day at the time of day of the concert's first show.
    """

    class Meta:
        model = ConcertDate

    concert = factory.SubFactory(ConcertFactory)
    starts_at = factory.LazyAttribute(lambda o: o.concert.start_time or timezone.now() + datetime.timedelta(days=30))
    tiers = None

    @classmethod
    def _create(cls, model_class, concert, starts_at, tiers=None, concert_date=None, **kwargs):
        if concert_date is not None:
            starts_at = _start_of(concert, concert_date)
        return create_concert_date(concert=concert, starts_at=starts_at, tiers=tiers)


class SeatFactory(factory.django.DjangoModelFactory):
    """A seat of a fresh date (the date creates all its seats; this returns one of them)."""

    class Meta:
        model = Seat

    concert_date = factory.SubFactory(ConcertDateFactory)
    seat_number = 1

    @classmethod
    def _create(cls, model_class, concert_date, seat_number=1, **kwargs):
        seat = Seat.objects.get(concert_date=concert_date, seat_number=seat_number)
        if kwargs:
            for field, value in kwargs.items():
                setattr(seat, field, value)
            seat.save(update_fields=list(kwargs))
        return seat


class SeatStatusHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SeatStatusHistory

    seat = factory.SubFactory(SeatFactory)
    from_status = Seat.Status.AVAILABLE
    to_status = Seat.Status.AVAILABLE
    reason = SeatStatusHistory.Reason.SEAT_CREATED


class ReservationFactory(factory.django.DjangoModelFactory):
    """A bare reservation row (for model tests); booking flows should use booking.services."""

    class Meta:
        model = Reservation

    user = factory.SubFactory(UserFactory)
    seat = factory.SubFactory(SeatFactory)
    status = Reservation.Status.CANCELLED
    price = factory.LazyAttribute(lambda o: o.seat.price)


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    user = factory.SelfAttribute("reservation.user")
    reservation = factory.SubFactory(ReservationFactory)
    amount = factory.LazyAttribute(lambda o: o.reservation.price)
    status = Payment.Status.FAILED
    reason = "insufficient balance"
    idempotency_key = factory.LazyFunction(lambda: uuid.uuid4().hex)


class ChargeHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargeHistory

    user = factory.SubFactory(UserFactory)
    amount = 10_000
    status = ChargeHistory.Status.SUCCESS
    reason = ""


class UsageHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageHistory

    user = factory.SubFactory(UserFactory)
    reservation = None
    amount = 10_000
    action_type = UsageHistory.ActionType.OTHER
    status = UsageHistory.Status.SUCCESS


class WaitingRoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WaitingRoom
        django_get_or_create = ("concert",)

    concert = factory.SubFactory(ConcertFactory)


class QueueTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QueueToken

    user = factory.SubFactory(UserFactory)
    concert = factory.SubFactory(ConcertFactory)
    queue_position = factory.Sequence(lambda n: n + 1)
    state = QueueToken.State.WAITING


class QueueEntryHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QueueEntryHistory

    user = factory.SubFactory(UserFactory)
    concert = factory.SubFactory(ConcertFactory)
    token = factory.LazyFunction(uuid.uuid4)
    queue_position = factory.Sequence(lambda n: n + 1)
    entered_at = factory.LazyFunction(timezone.now)


class PresaleFactory(factory.django.DjangoModelFactory):
    """A fan-club presale open now (opened an hour ago, closes in a day) of a concert whose general sale opens in
    two days and which has one date (50 seats); 10 seats' quota, by codes."""

    class Meta:
        model = Presale

    concert = factory.LazyFunction(
        lambda: (
            ConcertDateFactory(
                concert=ConcertFactory(sale_opens_at=timezone.now() + datetime.timedelta(days=2))
            ).concert
        )
    )
    name = factory.Sequence(lambda n: f"Fan club {n}")
    opens_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=1))
    quota = 10
    access = Presale.Access.CODES
