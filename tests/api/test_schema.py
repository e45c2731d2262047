"""Schemathesis against the live schema (/api/v1/openapi.json, read from the app itself), as a fan with a book token,
money and an admission (so the flow can succeed). Three runs, each deterministic (derandomized) and small:

- every operation with schema-valid data: no 5xx, and only responses its schema documents (status, media type, body);
- the booking flow as a state machine: hold → pay / release / cancel sequences along the links the schema documents
  (booking.api.links: a hold's `id` is what releasing it takes, a payment leads to the quote, the quote to the
  cancel) and those Schemathesis infers besides, on a fresh date each scenario, with the same checks;
- every operation with data that breaks its schema (negative mode): no 5xx, every status documented, and every 4xx
  a problem (application/problem+json) with its stable code.
"""

import datetime

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance, status_code_conformance

from booking.models import Reservation
from queueing import services as queue_services
from tests.api.conftest import make_token
from tests.factories import ConcertDateFactory
from wallet import selectors as wallet_selectors

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Schemathesis calls the WSGI app itself, whose request signals would close the test's database connection
    (django.test.Client disconnects them the same way)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def live(fan, concert_date, admitted, top_up, settings, wsgi_keeps_the_test_connection):
    """The live schema and the headers of a fan with a book token, 1,000,000 won and an admission."""
    settings.RATE_LIMITS_ENABLED = False  # hundreds of calls a minute: the limits have their own tests
    top_up(fan, 1_000_000)
    headers = {"Authorization": f"Bearer {make_token(fan)[1]}"}
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application()), headers


def problem_for_every_4xx(ctx, response, case):
    """A refusal (4xx) is an RFC 9457 problem: application/problem+json whose body names its status and code."""
    if not 400 <= response.status_code < 500:
        return None
    [content_type] = response.headers.get("content-type", ["(none)"])
    assert content_type == PROBLEM, f"{response.status_code} answered as {content_type}, not {PROBLEM}"
    body = response.json()
    assert body["status"] == response.status_code and body["code"], body
    assert body["type"] == f"urn:frontrow:problem:{body['code']}", body
    return None


def _each_operation(schema, mode, *, max_examples, check):
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16
    if mode == GenerationMode.NEGATIVE:  # what has parameters (besides the credentials, sent as ours) or a body
        credentials = {"authorization", "sessionid"}
        operations = [
            op
            for op in operations
            if len(op.body) or any(p.name.lower() not in credentials for p in op.iter_parameters())
        ]
        assert len(operations) >= 14
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
        )
        def answers(case):
            check(case)

        answers()


def test_every_operation_answers_as_its_schema_says(live):
    schema, headers = live

    def as_documented(case):
        # A schema-valid request may still be refused with a 4xx the operation documents: an opaque cursor this API
        # never gave out, a seat number past the date's seats; every answer is still checked against the schema
        # (status, media type, body), for 5xx, and a 4xx for being a problem.
        case.call_and_validate(
            headers=headers, excluded_checks=[positive_data_acceptance], additional_checks=[problem_for_every_4xx]
        )

    _each_operation(schema, GenerationMode.POSITIVE, max_examples=10, check=as_documented)


def test_data_that_breaks_the_schema_is_refused_with_a_problem_never_a_5xx(live):
    schema, headers = live

    def refused_as_a_problem(case):
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, status_code_conformance, problem_for_every_4xx]
        )

    _each_operation(schema, GenerationMode.NEGATIVE, max_examples=8, check=refused_as_a_problem)


# The booking flow's links the schema documents (booking.api.links), as (source, link name, target).
BOOKING_LINKS = {
    ("POST /api/v1/dates/{date_id}/holds", "ReleaseHold", "DELETE /api/v1/holds/{reservation_id}"),
    ("POST /api/v1/dates/{date_id}/holds", "PayHolds", "POST /api/v1/dates/{date_id}/payments"),
    ("GET /api/v1/dates/{date_id}/holds", "ReleaseHold", "DELETE /api/v1/holds/{reservation_id}"),
    (
        "POST /api/v1/dates/{date_id}/payments",
        "CancellationQuote",
        "GET /api/v1/reservations/{reservation_id}/cancellation",
    ),
    (
        "GET /api/v1/reservations/{reservation_id}/cancellation",
        "Cancel",
        "POST /api/v1/reservations/{reservation_id}/cancel",
    ),
}


def test_hold_pay_and_release_sequences_answer_as_the_schema_says(live, fan, concert_date, top_up):
    schema, headers = live
    booking = schema.include(tag="Booking")
    booking.config.generation.update(modes=[GenerationMode.POSITIVE])
    workflow = booking.as_state_machine()
    found = {
        (label, link.name, link.target.label)
        for label, transitions in workflow._transitions.operations.items()
        for link in transitions.outgoing
    }
    assert found >= BOOKING_LINKS, sorted(BOOKING_LINKS - found)  # and the links Schemathesis infers besides
    concert = concert_date.concert
    first_show = concert_date.starts_at
    dates = []

    class BookingFlow(workflow):
        def setup(self):
            """Each scenario books a fresh date of the concert (50 free seats, no seat limit reached yet), with the
            fan admitted again (paying ends the admission) and money enough for four seats."""
            self.date = ConcertDateFactory(
                concert=concert, starts_at=first_show + datetime.timedelta(days=len(dates) + 1)
            )
            dates.append(self.date)
            queue_services.join(user=fan, concert=concert)
            if wallet_selectors.balance(user=fan) < 500_000:
                top_up(fan, 1_000_000)

        def before_call(self, case):
            case.headers = {**(case.headers or {}), **headers}
            if "date_id" in case.path_parameters:
                case.path_parameters["date_id"] = str(self.date.pk)
            seats = case.body.get("seats") if isinstance(case.body, dict) else None
            if isinstance(seats, list) and all(isinstance(n, int) for n in seats):
                # Seat numbers of the date (1-50), so holds can succeed; at most the seat limit
                case.body["seats"] = sorted({1 + n % 50 for n in seats})[:4]

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # As the stateless run: a refusal the operation documents is an answer too (paying with nothing held,
            # a fifth seat, an id the fan has no reservation of), and a 4xx must be a problem.
            case.validate_response(
                response,
                headers=headers,  # the token is ours, not generated: the auth checks probe it as such
                additional_checks=[problem_for_every_4xx, *(additional_checks or [])],
                excluded_checks=[positive_data_acceptance],
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    BookingFlow.run(
        settings=hypothesis_settings(
            BookingFlow.TestCase.settings, max_examples=20, stateful_step_count=6, derandomize=True
        )
    )

    # The flow went along the links: seats held and paid. (Which further steps a run takes, a release along the hold's
    # link or a cancellation, depends on the answers it meets, the ids and the order of earlier runs in the session:
    # the full suite once took none. Releasing has its own tests in tests/api/test_booking.py.)
    ended = set(Reservation.objects.filter(user=fan, seat__concert_date__in=dates).values_list("status", "end_reason"))
    assert ended <= {
        ("HOLD", ""),
        ("CONFIRMED", ""),
        ("CANCELLED", Reservation.EndReason.FAN_RELEASED),
        ("CANCELLED", Reservation.EndReason.FAN_CANCELLED),
        ("EXPIRED", Reservation.EndReason.HOLD_EXPIRED),
    }, ended
    assert Reservation.objects.filter(user=fan, seat__concert_date__in=dates, confirmed_at__isnull=False).exists()
