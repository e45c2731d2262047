"""A top-up over its rate limit (config.ratelimit) charges nothing and records nothing: the view never ran."""

import pytest

from tests.support.ratelimits import set_limit
from wallet.models import ChargeHistory

pytestmark = pytest.mark.django_db


def test_a_top_up_over_the_limit_charges_nothing(settings, fan_client, fan):
    set_limit(settings, "top_up", account=2, ip=100)
    answers = [fan_client.post("/wallet/charge/", {"amount": "10000"}).status_code for _ in range(3)]
    assert answers == [302, 302, 429]
    fan.refresh_from_db(fields=["balance"])
    assert fan.balance == 20_000
    assert ChargeHistory.objects.filter(user=fan).count() == 2  # not even a FAILED row for the third
    assert fan_client.get("/wallet/").status_code == 200  # the wallet page is not limited


def test_a_refused_top_up_still_counts(settings, fan_client, fan):
    """A refused amount went through the view (a FAILED row is written): it counts like any other."""
    set_limit(settings, "top_up", account=1, ip=100)
    assert fan_client.post("/wallet/charge/", {"amount": "1"}).status_code == 400
    assert fan_client.post("/wallet/charge/", {"amount": "10000"}).status_code == 429
    assert list(ChargeHistory.objects.values_list("status", flat=True)) == [ChargeHistory.Status.FAILED]
