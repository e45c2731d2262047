"""A fan's money and admission as tests set them up: always through the real services, so the ledger
reconciles and admission goes through the waiting room. Used as plain functions (tests/security) and
through the root conftest's fixtures of the same names."""

from booking import services as booking_services
from queueing import services as queue_services
from wallet import services as wallet_services


def top_up(user, amount):
    """Top a fan up through wallet.services.charge, so the ledger reconciles."""
    while amount > 0:
        step = min(amount, 1_000_000)
        wallet_services.charge(user=user, amount=step)
        amount -= step
    user.refresh_from_db(fields=["balance"])
    return user


def admit(user, concert):
    """Admit the fan through the real waiting room (admitted at once: there is room and nobody waits)."""
    current = queue_services.join(user=user, concert=concert)
    assert current.admitted
    return current


def hold(user, concert_date, *numbers):
    return booking_services.hold_seats(user=user, concert_date=concert_date, seat_numbers=list(numbers))
