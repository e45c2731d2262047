"""Passwords are hashed with Argon2; the admin and the RQ dashboard are for staff only."""

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.test import Client
from django.urls import reverse

import config.settings as default_settings
from accounts.models import User
from tests import factories

pytestmark = pytest.mark.django_db


def test_argon2_is_the_password_hasher_of_the_real_settings():
    assert default_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    # No weak hasher is even accepted for old hashes.
    weak = {"MD5PasswordHasher", "UnsaltedMD5PasswordHasher", "UnsaltedSHA1PasswordHasher", "SHA1PasswordHasher"}
    assert not {path.rsplit(".", 1)[1] for path in default_settings.PASSWORD_HASHERS} & weak


def test_a_fan_who_signs_up_gets_an_argon2_hash_and_can_log_in(settings):
    settings.PASSWORD_HASHERS = default_settings.PASSWORD_HASHERS
    client = Client()
    password = "violet-harbor-2931"
    response = client.post(
        reverse("accounts:signup"),
        {"email": "argon@example.com", "name": "Argon", "password1": password, "password2": password},
    )
    assert response.status_code == 302
    user = User.objects.get(email="argon@example.com")
    assert user.password.startswith("argon2$argon2id$")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert password not in user.password
    client.post(reverse("accounts:logout"))
    assert client.post(reverse("accounts:login"), {"username": user.email, "password": password}).status_code == 302


def test_an_old_pbkdf2_hash_is_upgraded_to_argon2_at_log_in(settings):
    settings.PASSWORD_HASHERS = list(reversed(default_settings.PASSWORD_HASHERS))
    user = factories.UserFactory(email="old@example.com")
    assert user.password.startswith("pbkdf2_sha256$")
    settings.PASSWORD_HASHERS = default_settings.PASSWORD_HASHERS
    response = Client().post(reverse("accounts:login"), {"username": user.email, "password": "correct-horse-battery"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$")


def _admin_urls():
    from django.contrib import admin

    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    return urls


def _rq_urls():
    return [reverse("django_rq:home"), reverse("django_rq:jobs", args=[0])]


@pytest.mark.parametrize("who", ["anonymous", "fan"])
def test_the_admin_and_the_rq_dashboard_are_closed_to_everyone_but_staff(who, alice):
    client = Client()
    if who == "fan":
        client.force_login(alice)
    for url in _admin_urls() + _rq_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_a_fan_cannot_log_in_to_the_admin(alice):
    client = Client()
    response = client.post(reverse("admin:login"), {"username": alice.email, "password": "correct-horse-battery"})
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302


def test_staff_reach_the_admin_and_the_rq_dashboard():
    client = Client()
    client.force_login(factories.StaffFactory())
    for url in [reverse("admin:index"), *_rq_urls()]:
        assert client.get(url).status_code == 200, url


def test_a_fan_cannot_run_an_admin_action(alice, concert_date):
    """POSTing an admin action (here: delete a concert date) as a fan does nothing."""
    client = Client()
    client.force_login(alice)
    url = reverse("admin:concerts_concertdate_changelist")
    response = client.post(
        url, {"action": "delete_selected", "_selected_action": [str(concert_date.pk)], "post": "yes"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    concert_date.refresh_from_db()
    assert concert_date.status == "SCHEDULED"
