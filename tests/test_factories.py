import pytest

from tests import factories


@pytest.mark.django_db
@pytest.mark.parametrize(
    "factory_class",
    [
        factories.UserFactory,
        factories.StaffFactory,
        factories.ConcertFactory,
        factories.ConcertDateFactory,
        factories.SeatFactory,
        factories.SeatStatusHistoryFactory,
        factories.ReservationFactory,
        factories.PaymentFactory,
        factories.ChargeHistoryFactory,
        factories.UsageHistoryFactory,
        factories.WaitingRoomFactory,
        factories.QueueTokenFactory,
        factories.QueueEntryHistoryFactory,
    ],
)
def test_every_factory_saves_a_valid_row(factory_class):
    obj = factory_class()
    obj.full_clean()
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.django_db
def test_user_factory_password_logs_in(client):
    user = factories.UserFactory()
    assert client.login(email=user.email, password="correct-horse-battery")
