"""The JSON API's fixtures: a fan's personal access tokens (made through accounts.services, like the account page
makes them) and a client that sends one."""

import pytest
from django.test import Client

from accounts import services as account_services


def make_token(user, *, scope="book", lifetime_days=30, name="script", now=None):
    """(the ApiToken row, its secret) for `user`."""
    created = account_services.create_api_token(user=user, name=name, scope=scope, lifetime_days=lifetime_days, now=now)
    return created.token, created.secret


def bearer_client(secret, *, language="ko"):
    """A client that sends `secret` as its bearer token and enforces CSRF like a browser (it never needs it)."""
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE=language)


@pytest.fixture
def book_token(fan):
    return make_token(fan, scope="book")


@pytest.fixture
def read_token(fan):
    return make_token(fan, scope="read", name="reader")


@pytest.fixture
def api(book_token):
    """A client calling the API as the fan, with a token that may book."""
    return bearer_client(book_token[1])


def assert_problem(response, *, status, code):
    """The answer is an RFC 9457 problem with this status and code; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:frontrow:problem:{code}"
    assert body["title"] and body["detail"]
    return body
