"""Real threads against PostgreSQL: no won is lost when top-ups and payments race."""

import pytest

from tests import factories
from tests.support.concurrency import run_at_once
from wallet import selectors, services
from wallet.exceptions import ChargeRefused
from wallet.models import ChargeHistory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_hundred_concurrent_top_ups_all_land(settings):
    fan = factories.UserFactory()

    # 25 threads × 4 top-ups: 100 racing top-ups within the server's connection limit (shared with others).
    def top_up_four_times():
        return [services.charge(user=fan, amount=1_000) for _ in range(4)]

    outcomes = run_at_once(top_up_four_times, [()] * 25)

    assert [error for _result, error in outcomes] == [None] * 25
    assert selectors.balance(user=fan) == 100_000
    assert ChargeHistory.objects.filter(user=fan, status="SUCCESS", amount=1_000).count() == 100
    balances_after = sorted(row.balance_after for result, _error in outcomes for row in result)
    assert balances_after == list(range(1_000, 100_001, 1_000))
    assert selectors.unreconciled_wallets() == []


def test_racing_top_ups_never_pass_the_cap(settings):
    settings.MAX_BALANCE = 10_000
    fan = factories.UserFactory()

    outcomes = run_at_once(lambda: services.charge(user=fan, amount=3_000), [()] * 6)

    refused = [error for _result, error in outcomes if error is not None]
    assert len(refused) == 3 and all(isinstance(e, ChargeRefused) for e in refused)
    assert selectors.balance(user=fan) == 9_000
    assert ChargeHistory.objects.filter(status="FAILED").count() == 3
    assert selectors.unreconciled_wallets() == []
