"""The database itself refuses bad users, whatever the application code does."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import ApiToken, User
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


def _token(user, **fields):
    now = timezone.now()
    values = {"name": "t", "scope": "read", "prefix": "frt_x", "token_hash": "h" * 64, "created_at": now}
    values["expires_at"] = now + datetime.timedelta(days=1)
    values.update(fields)
    return ApiToken.objects.create(user=user, **values)


def test_an_api_token_has_a_known_scope(refused):
    refused("api_token_scope_known", lambda: _token(UserFactory(), scope="admin"))


def test_an_api_token_expires_after_it_was_created(refused):
    now = timezone.now()
    refused("api_token_expires_after_creation", lambda: _token(UserFactory(), created_at=now, expires_at=now))


def test_two_api_tokens_never_share_a_hash(refused):
    _token(UserFactory())
    refused("accounts_apitoken_token_hash_key", lambda: _token(UserFactory()))
