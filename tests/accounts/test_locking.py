"""accounts.locking: the fan's user row is locked in one place, and the lock blocks what its docstring says."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from accounts.locking import lock_user
from accounts.models import User
from tests.factories import UserFactory
from tests.support.concurrency import run_on_another_connection
from wallet.models import ChargeHistory

APPS = ["accounts", "booking", "concerts", "config", "queueing", "wallet"]


@pytest.mark.django_db(transaction=True)
def test_a_locked_fan_row_cannot_be_locked_again_but_rows_naming_the_fan_can_still_be_written():
    fan = UserFactory(balance=7_000)

    def lock_again():
        with transaction.atomic():
            User.objects.select_for_update(no_key=True, nowait=True).get(pk=fan.pk)

    def record_a_top_up():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")  # fail the test, do not hang it
            return ChargeHistory.objects.create(user_id=fan.pk, amount=1_000, status=ChargeHistory.Status.SUCCESS)

    with transaction.atomic():
        locked = lock_user(fan.pk)
        assert (locked.pk, locked.balance) == (fan.pk, 7_000)
        assert {"email", "name", "password"} <= locked.get_deferred_fields()
        with pytest.raises(DatabaseError):
            run_on_another_connection(lock_again)
        # FOR NO KEY UPDATE: a ledger or queue row that references the fan is not held up by the lock.
        assert run_on_another_connection(record_a_top_up).user_id == fan.pk


def test_no_module_but_accounts_locking_locks_a_user_row():
    locks_a_user = re.compile(r"(\bUser\b|get_user_model\(\))\.objects\s*\.\s*select_for_update", re.S)
    root = Path(settings.BASE_DIR)
    lockers = [
        str(path.relative_to(root))
        for app in APPS
        for path in sorted((root / app).rglob("*.py"))
        if locks_a_user.search(path.read_text())
    ]
    assert lockers == ["accounts/locking.py"], "lock a fan's row with lock_user: its docstring has the lock order"
