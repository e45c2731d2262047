"""Every refusal under the API's root is a problem (application/problem+json), not only the operations' own: a path
no operation has is a 404 not_found, a method the path does not take a 405 method_not_allowed with its Allow header
(before, Django's HTML 404 page and ninja's plain-text "Method not allowed")."""

import uuid

import pytest
from django.test import Client

from tests.api.conftest import assert_problem, bearer_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nope", "/api/v1/dates/a%2Fb/seats", "/api/v1/holds", f"/api/v1/holds/{uuid.uuid4()}/extra", "/api/v1/x/"],
    ids=["unknown", "encoded-slash-in-an-id", "collection-without-id", "past-an-operation", "trailing-slash"],
)
def test_a_path_no_operation_has_is_a_404_problem(fan, book_token, path):
    for client in (
        bearer_client(book_token[1], language="en"),
        Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en"),
    ):
        for method in ("get", "post", "delete"):
            body = assert_problem(getattr(client, method)(path), status=404, code="not_found")
            assert body["detail"].startswith("There is nothing here")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("put", f"/api/v1/holds/{uuid.uuid4()}", {"DELETE"}),
        ("post", "/api/v1/me", {"GET"}),
        ("patch", "/api/v1/wallet", {"GET"}),
        ("delete", f"/api/v1/dates/{uuid.uuid4()}/holds", {"GET", "POST"}),
    ],
)
def test_a_method_the_path_does_not_take_is_a_405_problem_with_allow(fan, book_token, method, path, allow):
    response = getattr(bearer_client(book_token[1], language="en"), method)(path)
    body = assert_problem(response, status=405, code="method_not_allowed")
    assert {m.strip() for m in response["Allow"].split(",")} == allow
    assert "Allow" in body["detail"]


def test_the_operations_still_answer_their_methods(fan, book_token):
    client = bearer_client(book_token[1])
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
