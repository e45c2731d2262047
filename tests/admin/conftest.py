import pytest

from tests.factories import StaffFactory, UserFactory


@pytest.fixture
def staff(db):
    return StaffFactory(email="staff@example.com")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def fan_client(client, db):
    client.force_login(UserFactory())
    return client
