"""User.save: a save that changes no password is a plain save (no savepoint on this hot path: every login writes
last_login); a new password revokes the account's live API tokens in one transaction with the password itself."""

import pytest
from django.contrib.auth.models import update_last_login
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from accounts.models import ApiToken, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _savepoints(queries):
    return [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SAVEPOINT")]


def _token(user):
    return account_services.create_api_token(user=user, name="script", scope="read", lifetime_days=7).token


def test_a_save_without_a_new_password_opens_no_savepoint_and_revokes_nothing():
    fan = UserFactory()
    token = _token(fan)
    with CaptureQueriesContext(connection) as saved:
        fan.name = "renamed"
        fan.save()
        update_last_login(None, fan)  # every log-in
        User.objects.create_user("new@example.com", "a-password")  # a new account: its password precedes it
    assert _savepoints(saved) == []
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_new_password_revokes_the_tokens_in_the_savepoint_of_its_own_save():
    fan = UserFactory()
    token = _token(fan)
    fan.set_password("a-new-password")
    with CaptureQueriesContext(connection) as saved:
        fan.save()
    sql = [query["sql"] for query in saved.captured_queries]
    assert len(_savepoints(saved)) == 1
    assert sql[0].startswith("SAVEPOINT") and sql[-1].startswith("RELEASE SAVEPOINT")
    assert any(s.startswith(f'UPDATE "{User._meta.db_table}"') for s in sql)
    assert any(s.startswith(f'UPDATE "{ApiToken._meta.db_table}"') for s in sql)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_new_password_whose_tokens_cannot_be_revoked_is_not_saved_either():
    fan = UserFactory(password="the-old-password")
    _token(fan)
    table = ApiToken._meta.db_table
    with connection.cursor() as cursor:  # the database refuses the revocation (dropped with the test's transaction)
        cursor.execute(
            "CREATE FUNCTION test_refuse_update() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'refused'; END $$"
        )
        cursor.execute(
            f'CREATE TRIGGER test_refuse BEFORE UPDATE ON "{table}" FOR EACH ROW EXECUTE FUNCTION test_refuse_update()'
        )
    fan.set_password("a-new-password")
    with pytest.raises(DatabaseError):
        fan.save()
    assert User.objects.get(pk=fan.pk).check_password("the-old-password")
    assert ApiToken.objects.filter(user=fan, revoked_at__isnull=True).count() == 1
