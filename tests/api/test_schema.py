"""Schemathesis against the live schema (/api/v1/openapi.json, read from the app itself): every operation, called
with generated data by an authenticated fan with money and an admission (so the flow can succeed), answers no 5xx
and only responses its schema documents (status, media type, body)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import make_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Schemathesis calls the WSGI app itself, whose request signals would close the test's database connection
    (django.test.Client disconnects them the same way)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_every_operation_answers_as_its_schema_says(
    fan, concert_date, admitted, top_up, settings, wsgi_keeps_the_test_connection
):
    settings.RATE_LIMITS_ENABLED = False  # hundreds of calls a minute: the limits have their own tests
    top_up(fan, 1_000_000)
    headers = {"Authorization": f"Bearer {make_token(fan)[1]}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def answers_as_documented(case):
            # A schema-valid request may still be refused with a 4xx the operation documents: an opaque cursor this
            # API never gave out, a seat number past the date's seats; every answer is still checked against the
            # schema (status, media type, body) and for 5xx.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        answers_as_documented()
