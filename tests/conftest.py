"""Fixtures every test folder shares: a fan and a concert date on sale, logged-in clients, admission through
the real queue, staff, and the constraint check of the model tests.

A folder's own conftest.py keeps what only that folder uses (booking's funded fans, the queue backends);
the cross-cutting folders (security, fuzz, faults, stack, e2e) keep theirs. Helpers that are not fixtures
live in tests/support/, factories in tests/factories.py.
"""

import uuid

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from booking import services as booking_services
from tests import factories
from tests.support import fans, two_factor
from tests.support.redis_keys import delete_prefixed_keys


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _redis_breakers_closed():
    """Each test starts with every Redis breaker of this process closed (config.redis_circuit).

    A breaker is per process, so one opened by an earlier test (a fault test, or a slow answer on a busy
    machine) would otherwise make the next tests skip a Redis that is answering.
    """
    from config import redis_circuit

    for breaker in list(redis_circuit._breakers.values()):
        breaker.answered()


@pytest.fixture(autouse=True)
def _rate_limits_of_its_own(settings):
    """Each test counts its requests against the rate limits (config.ratelimit) under a key prefix of its own,
    deleted afterwards: no test spends another's limits, and the default limits stay on everywhere, so every
    test that drives the pages as a fan would also shows that normal use never meets a limit (429)."""
    prefix = f"test-ratelimit:{uuid.uuid4().hex[:12]}"
    url = settings.REDIS_URL  # a test may point REDIS_URL at a dead server; clean up the real one
    settings.RATE_LIMIT_REDIS_PREFIX = prefix
    yield prefix
    if url:
        delete_prefixed_keys(url, prefix)


@pytest.fixture(autouse=True)
def _korean_by_default(settings):
    # The site's default; tests that want English switch with the language cookie like a fan would.
    settings.LANGUAGE_CODE = "ko"


@pytest.fixture(autouse=True)
def _staff_clients_pass_the_second_factor(monkeypatch):
    """A test client's force_login / login of a staff member also passes the second factor (the verify page's
    work: a confirmed authenticator, its id in the session), so the many tests that drive staff pages need not.
    The tests of the second factor itself log in with `client.second_factor = False` first, or log in through the
    pages (tests/accounts/test_two_factor_*.py)."""
    original = Client._login

    def _login(self, user, backend=None):
        original(self, user, backend)
        if getattr(self, "second_factor", True) and (user.is_staff or user.is_superuser):
            two_factor.verify_client_session(self, user)

    monkeypatch.setattr(Client, "_login", _login)


@pytest.fixture
def unverified_staff_client(staff):
    """A client logged in as staff by password only: the staff pages send it to the second factor."""
    client = Client()
    client.second_factor = False
    client.force_login(staff)
    return client


@pytest.fixture
def fan(db):
    return factories.UserFactory(name="김팬", email="fan@example.com")


@pytest.fixture
def top_up():
    """Top a fan up through wallet.services.charge, so the ledger reconciles."""
    return fans.top_up


@pytest.fixture
def fan_client(client, fan):
    client.force_login(fan)
    return client


@pytest.fixture
def csrf_client(fan):
    """A client that enforces CSRF like a browser would (the default test client skips the check)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(fan)
    return client


@pytest.fixture
def concert_date(db):
    return factories.ConcertDateFactory(concert__title="Seoul Jazz Night", concert__venue="Olympic Hall")


@pytest.fixture
def admit():
    """Admit a user to the concert's waiting room (admitted at once: there is room and nobody waits)."""
    return fans.admit


@pytest.fixture
def admitted(fan, concert_date, admit):
    return admit(fan, concert_date.concert)


@pytest.fixture
def hold():
    return fans.hold


@pytest.fixture
def paid_reservation(fan, concert_date, top_up, hold):
    """Seat 7 held and paid by the fan (no admission needed: services are called directly)."""
    top_up(fan, 200_000)
    hold(fan, concert_date, 7)
    result = booking_services.pay(user=fan, concert_date=concert_date, idempotency_key="fixture-paid")
    fan.refresh_from_db(fields=["balance"])
    return result.reservations[0]


@pytest.fixture
def staff(db):
    return factories.StaffFactory(email="staff@example.com")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def refused():
    """refused("constraint_name", write): the database rejects write() naming that constraint.

    The write runs in its own atomic block, so the test can go on using the database afterwards.
    """

    def check(constraint, write):
        with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
            write()
        assert constraint in str(excinfo.value), f"expected {constraint}, got: {excinfo.value}"

    return check
