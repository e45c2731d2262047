import pytest


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
