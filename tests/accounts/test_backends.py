"""accounts.backends.UserBackend: the user of each request read with one SQL statement, the same as the ORM's,
with ModelBackend's log-in, permissions, active check and Django's session hash all still in force."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, authenticate
from django.contrib.auth.models import Permission
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.backends import LEGACY_BACKEND, UserBackend, load_user
from accounts.models import User
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def _request_user(client):
    """The user AuthenticationMiddleware put on a logged-in page's request."""
    response = client.get("/wallet/")
    user = response.wsgi_request.user
    return user._wrapped if hasattr(user, "_wrapped") else user


def _fields(user):
    return {field.attname: getattr(user, field.attname) for field in User._meta.concrete_fields}


def test_the_user_on_the_request_is_complete_and_equal_to_the_orms(fan_client, fan, top_up):
    top_up(fan, 12_000)
    user = _request_user(fan_client)
    orm = User.objects.get(pk=fan.pk)
    assert type(user) is User
    assert user == orm
    assert _fields(user) == _fields(orm)
    assert user.balance == 12_000
    assert user.get_deferred_fields() == set()
    assert not user._state.adding
    assert user._state.db == "default"


def test_the_backend_reads_the_user_with_one_query(fan):
    with CaptureQueriesContext(connection) as queries:
        user = UserBackend().get_user(str(fan.pk))
    assert len(queries) == 1
    assert user == fan


def test_a_key_that_is_no_user_or_no_uuid_loads_nobody(fan):
    assert load_user("not-a-uuid") is None
    assert load_user("00000000-0000-0000-0000-000000000000") is None


def test_an_inactive_user_is_refused(fan_client, fan):
    User.objects.filter(pk=fan.pk).update(is_active=False)
    assert UserBackend().get_user(fan.pk) is None
    assert not _request_user(fan_client).is_authenticated


def test_a_deleted_user_is_anonymous(fan_client, fan):
    User.objects.filter(pk=fan.pk).delete()
    assert not _request_user(fan_client).is_authenticated


def test_a_changed_password_logs_out_the_other_sessions(client, fan):
    other = Client()
    other.force_login(fan)
    client.force_login(fan)
    assert _request_user(other) == fan
    fan.set_password("a-new-password-4821")
    fan.save(update_fields=["password"])
    assert not _request_user(other).is_authenticated
    assert SESSION_KEY not in other.session  # flushed, as Django does on a hash that no longer matches


def test_log_in_through_the_page_uses_the_backend_and_the_session_hash(client, fan):
    response = client.post("/accounts/login/", {"username": fan.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == "accounts.backends.UserBackend"
    assert client.session[HASH_SESSION_KEY] == fan.get_session_auth_hash()
    assert _request_user(client) == fan


def test_sign_up_logs_in_with_the_backend(client):
    password = "violet-harbor-2931"
    data = {"email": "new@example.com", "name": "새 팬", "password1": password, "password2": password}
    assert client.post("/accounts/signup/", data).status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == "accounts.backends.UserBackend"
    assert _request_user(client).email == "new@example.com"


def test_a_session_logged_in_before_the_backend_stays_logged_in_with_no_more_queries(client, fan):
    client.force_login(fan, backend=LEGACY_BACKEND)
    with CaptureQueriesContext(connection) as legacy:
        assert _request_user(client) == fan
    client.force_login(fan)
    assert client.session[BACKEND_SESSION_KEY] == "accounts.backends.UserBackend"
    with CaptureQueriesContext(connection) as ours:
        assert _request_user(client) == fan
    assert len(ours) <= len(legacy)


def test_a_wrong_password_is_refused_once_and_counted_by_axes(rf, fan):
    failures = []

    def record(sender, credentials, request, **kwargs):
        failures.append(credentials["username"])

    user_login_failed.connect(record)
    try:
        request = rf.post("/accounts/login/", REMOTE_ADDR="203.0.113.9")
        assert authenticate(request, username=fan.email, password="wrong") is None
        assert authenticate(request, username="nobody@example.com", password="wrong") is None
        user = authenticate(request, username=fan.email, password=PASSWORD)
    finally:
        user_login_failed.disconnect(record)
    assert failures == [fan.email, "nobody@example.com"]
    assert user == fan
    assert user.backend == "accounts.backends.UserBackend"


def test_an_inactive_user_cannot_log_in(rf, fan):
    User.objects.filter(pk=fan.pk).update(is_active=False)
    assert authenticate(rf.post("/accounts/login/"), username=fan.email, password=PASSWORD) is None


def test_staff_permissions_and_the_admin_still_work(client):
    clerk = factories.UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_concert"))
    client.force_login(clerk)
    assert client.get("/admin/concerts/concert/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 403
    user = _request_user(client)
    assert user.has_perm("concerts.view_concert")
    assert not user.has_perm("concerts.change_concert")
    assert client.post("/admin/login/", {"username": clerk.email, "password": "wrong"}).status_code == 200
