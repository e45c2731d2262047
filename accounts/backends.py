"""The authentication backend: Django's ModelBackend, with the user of every logged-in request read cheaply.

AuthenticationMiddleware loads the session's user on each page through the backend's get_user. ModelBackend
runs `User.objects.get(pk=...)`, whose query compiling was 15-23% of a page's CPU (bench/poll_bench.py's
profile). Here the same row is read with one SQL statement built once per process, and the instance is made
with User.from_db, as the ORM makes it. Log-in, permissions and user_can_authenticate are ModelBackend's.
"""

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest

from .models import User

# What Django stored in the sessions of fans logged in before this backend existed; settings lists it after
# UserBackend so those sessions stay logged in. It can go once they have expired (SESSION_COOKIE_AGE).
LEGACY_BACKEND = "django.contrib.auth.backends.ModelBackend"

_Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


@functools.cache
def _select_by_pk(alias: str) -> tuple[str, list[str], list[tuple[int, list[_Converter]]]]:
    """The SELECT of one user row by pk on a connection, its field names, and the converters the ORM would
    apply to each column's value (none on PostgreSQL today; kept so a future field type reads the same)."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = User._meta.concrete_fields
    sql = "SELECT {} FROM {} WHERE {} = %s".format(
        ", ".join(quote(f.column) for f in fields),
        quote(User._meta.db_table),
        quote(User._meta.pk.column),
    )
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(User._meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((index, found))
    return sql, [f.attname for f in fields], converters


def load_user(pk: object) -> User | None:
    """The user with this primary key, every concrete field loaded as the ORM loads it; None if there is none
    (or the key is not a valid one)."""
    meta = User._meta
    try:
        pk = meta.pk.to_python(pk)
    except ValidationError:
        return None
    alias = router.db_for_read(User)
    connection = connections[alias]
    sql, names, converters = _select_by_pk(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [meta.pk.get_db_prep_value(pk, connection)])
        row: Sequence[Any] | None = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, functions in converters:
        for convert in functions:
            values[index] = convert(values[index], None, connection)
    return User.from_db(alias, names, values)


class UserBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        user = load_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and password is not None:
            # Refused here: stop django.contrib.auth.authenticate before LEGACY_BACKEND (the same check) hashes
            # the password a second time. It still sends user_login_failed, which django-axes counts.
            raise PermissionDenied
        return user
