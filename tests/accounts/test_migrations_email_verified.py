"""The migration that added e-mail verification counts the accounts that existed as verified, so no fan who
signed up before is stopped at the next sale's waiting room; accounts made afterwards start unverified."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0001_initial")]
AFTER = [("accounts", "0002_user_email_verified_at")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_accounts_that_existed_are_verified_and_new_ones_are_not():
    apps = _migrate(BEFORE)
    try:
        User = apps.get_model("accounts", "User")
        User.objects.create(email="early@example.com", name="Early", password="!")

        apps = _migrate(AFTER)
        User = apps.get_model("accounts", "User")
        assert User.objects.get(email="early@example.com").email_verified_at is not None
        assert User.objects.create(email="late@example.com", name="Late", password="!").email_verified_at is None
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
