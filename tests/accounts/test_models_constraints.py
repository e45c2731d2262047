"""The database itself refuses bad users, whatever the application code does."""

import pytest

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_balance_never_negative(refused):
    user = UserFactory(balance=100)
    refused("user_balance_non_negative", lambda: User.objects.filter(pk=user.pk).update(balance=-1))
    user.refresh_from_db()
    assert user.balance == 100


def test_zero_balance_is_allowed():
    user = UserFactory(balance=100)
    User.objects.filter(pk=user.pk).update(balance=0)
    user.refresh_from_db()
    assert user.balance == 0


def test_email_unique_ignoring_case(refused):
    UserFactory(email="fan@example.com")
    # objects.create skips the manager's lower-casing, like a buggy import script would.
    refused("user_email_ci_unique", lambda: User.objects.create(email="Fan@Example.COM", name="Twin"))


def test_email_exactly_unique(refused):
    UserFactory(email="fan@example.com")
    refused("accounts_user_email", lambda: User.objects.create(email="fan@example.com", name="Twin"))
    assert User.objects.filter(email__iexact="fan@example.com").count() == 1
