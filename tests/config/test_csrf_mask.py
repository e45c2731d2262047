"""Django's CSRF middleware, whose get_token masks the token with config.middleware.mask_cipher_secret (installed
when the site's middleware loads), which Django's own unmasking reads; the mask is uniform and new each time, and the
checks are Django's (a token of another session is refused)."""

import collections
import re

import pytest
from django.conf import settings
from django.middleware import csrf
from django.test import Client, RequestFactory

from config import middleware
from tests import factories

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def test_the_site_runs_djangos_csrf_middleware_and_get_token_masks_with_ours(client, db):
    # By its own name: `check --deploy` runs its CSRF checks (CSRF_COOKIE_SECURE...) only when it finds it.
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    assert any(path.startswith("config.middleware.") for path in settings.MIDDLEWARE)
    client.get("/")
    assert csrf._mask_cipher_secret is middleware.mask_cipher_secret


def test_a_masked_token_unmasks_to_its_secret_with_djangos_unmasking():
    for _ in range(500):
        secret = csrf._get_new_csrf_string()
        token = middleware.mask_cipher_secret(secret)
        assert len(token) == csrf.CSRF_TOKEN_LENGTH
        assert set(token) <= set(csrf.CSRF_ALLOWED_CHARS)
        assert csrf._unmask_cipher_token(token) == secret


def test_get_token_gives_a_new_mask_of_the_same_secret_each_time(client, db):
    client.get("/")  # the middleware is loaded (config.middleware installs the mask)
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = secret = csrf._get_new_csrf_string()
    tokens = {csrf.get_token(request) for _ in range(200)}
    assert len(tokens) == 200
    assert {csrf._unmask_cipher_token(token) for token in tokens} == {secret}


def test_the_mask_draws_every_character_evenly():
    counts: collections.Counter[str] = collections.Counter()
    secret = "a" * csrf.CSRF_SECRET_LENGTH
    for _ in range(4000):
        counts.update(middleware.mask_cipher_secret(secret)[: csrf.CSRF_SECRET_LENGTH])
    expected = 4000 * csrf.CSRF_SECRET_LENGTH / len(csrf.CSRF_ALLOWED_CHARS)  # ~2065 each
    assert set(counts) == set(csrf.CSRF_ALLOWED_CHARS)
    # 15% is ~7 standard deviations either way
    assert all(abs(n - expected) < expected * 0.15 for n in counts.values()), counts


@pytest.mark.django_db
def test_a_pages_token_works_for_its_session_only():
    one, two = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    one.force_login(factories.UserFactory())
    two.force_login(factories.UserFactory())
    tokens = [TOKEN.search(c.get("/wallet/").content.decode()).group(1) for c in (one, two)]
    for client, token in zip((one, two), tokens, strict=True):
        data = {"csrfmiddlewaretoken": token, "language": "en", "next": "/"}
        assert client.post("/i18n/setlang/", data).status_code == 302
    data = {"csrfmiddlewaretoken": tokens[0], "language": "ko", "next": "/"}
    assert two.post("/i18n/setlang/", data).status_code == 403
    assert two.post("/i18n/setlang/", {"language": "ko", "next": "/"}).status_code == 403
