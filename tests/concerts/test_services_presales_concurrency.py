"""Presale codes used at once, with real threads on PostgreSQL: one code, many fans, exactly one wins."""

import pytest

from concerts import services
from concerts.exceptions import PresaleCodeInvalid
from concerts.models import PresaleCode
from tests.factories import PresaleFactory, UserFactory
from tests.support.concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def test_fans_racing_one_code_exactly_one_wins():
    presale = PresaleFactory()
    [code] = services.generate_presale_codes(presale=presale, count=1)
    fans = [UserFactory() for _ in range(6)]
    outcomes = run_at_once(
        lambda fan: services.redeem_presale_code(user=fan, presale=presale, code=code), [(f,) for f in fans]
    )
    won = [result for result, error in outcomes if error is None]
    lost = [error for _result, error in outcomes if error is not None]
    assert len(won) == 1
    assert len(lost) == 5 and all(isinstance(error, PresaleCodeInvalid) for error in lost)
    assert PresaleCode.objects.get(presale=presale).used_by_id == won[0].used_by_id


def test_one_fan_racing_two_codes_binds_one_and_leaves_the_other():
    presale = PresaleFactory()
    codes = services.generate_presale_codes(presale=presale, count=2)
    fan = UserFactory()
    outcomes = run_at_once(
        lambda code: services.redeem_presale_code(user=fan, presale=presale, code=code), [(c,) for c in codes]
    )
    assert all(error is None for _result, error in outcomes)
    assert outcomes[0][0].pk == outcomes[1][0].pk  # both calls answer the fan's one code
    assert PresaleCode.objects.filter(presale=presale, used_by=fan).count() == 1
    assert PresaleCode.objects.filter(presale=presale, used_by__isnull=True).count() == 1
