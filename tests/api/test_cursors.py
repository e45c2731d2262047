"""A cursor whose JSON parts have the wrong JSON types (made up by hand) is a 400 invalid_request, never a 500."""

import base64
import json

import pytest

from tests.api.conftest import assert_problem


def _cursor(values):
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("url", "values"),
    [
        ("/api/v1/wallet/history", ["2026-01-01T00:00:00+00:00", 5]),
        ("/api/v1/reservations", ["2026-01-01T00:00:00+00:00", 1, 5]),
        ("/api/v1/reservations", ["2026-01-01T00:00:00+00:00", 1, ["x"]]),
    ],
)
def test_a_cursor_with_a_number_for_the_id_is_a_400(fan, api, url, values):
    api.raise_request_exception = False
    response = api.get(url, {"cursor": _cursor(values)})
    assert_problem(response, status=400, code="invalid_request")
