"""Presale scenes for tests: a presale open now and fans on its list."""

from concerts import services as concert_services
from tests.factories import PresaleFactory, UserFactory


def open_presale(**fields):
    """A presale open now (PresaleFactory: one date of 50 seats, the general sale in two days)."""
    return PresaleFactory(**fields)


def listed_fan(presale, **fields):
    """A fan who has used one of the presale's codes (so may hold in it)."""
    fan = UserFactory(**fields)
    [code] = concert_services.generate_presale_codes(presale=presale, count=1)
    concert_services.redeem_presale_code(user=fan, presale=presale, code=code)
    return fan
