"""PostgreSQL connections dropped for real (pg_terminate_backend) under a live server: the request in flight
fails cleanly with a 503 page, nothing it started is left half-written, and the next request reconnects.

The live server runs requests the way production does (request_started/finished close broken
connections); the test client would not. A connection_created hook on the server's thread records its
backend pid and, at a chosen SQL statement, has a second connection terminate that backend, so the
statement runs on a connection PostgreSQL has already closed.
"""

import re
import threading
import time
from contextlib import contextmanager

import httpx
import psycopg
import pytest
from django.db import connections
from django.db.backends.signals import connection_created
from django.test import Client
from django.urls import reverse

from booking.models import Payment, Reservation
from concerts.models import Seat
from tests.security.fixtures import admit, assert_ledger_reconciles, hold, state_snapshot
from tests.stack.conftest import database_url
from tests.support.checkout import pay_data
from wallet.models import UsageHistory

pytestmark = pytest.mark.django_db(transaction=True)


def terminate_backend(pid):
    """Kill one PostgreSQL backend from a separate connection and wait until it is gone."""
    with psycopg.connect(database_url(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        for _ in range(200):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} did not go away")


class ServerConnections:
    """Watches the live server's database connections: their pids, and an optional statement to kill at."""

    def __init__(self):
        self.main = threading.main_thread()
        self.pids = []
        self.kill_at = None
        self.killed = []
        self.wrapped = []

    def on_created(self, sender, connection, **kwargs):
        if threading.current_thread() is self.main:
            return
        self.pids.append(connection.connection.info.backend_pid)
        if self._wrapper not in connection.execute_wrappers:
            connection.execute_wrappers.append(self._wrapper)
            self.wrapped.append(connection)

    def _wrapper(self, execute, sql, params, many, context):
        if self.kill_at and self.kill_at in sql:
            self.kill_at = None
            pid = context["connection"].connection.info.backend_pid
            terminate_backend(pid)
            self.killed.append((pid, sql[:80]))
        return execute(sql, params, many, context)

    def remove(self):
        for connection in self.wrapped:
            if self._wrapper in connection.execute_wrappers:
                connection.execute_wrappers.remove(self._wrapper)


@pytest.fixture
def server_connections():
    watcher = ServerConnections()
    connection_created.connect(watcher.on_created)
    yield watcher
    connection_created.disconnect(watcher.on_created)
    watcher.remove()


@contextmanager
def browser(live_server, user):
    """An httpx client logged in as `user` against the live server, sending the CSRF token like a page would."""
    django_client = Client()
    django_client.force_login(user)
    with httpx.Client(base_url=live_server.url, timeout=30, follow_redirects=False) as http:
        http.cookies.set("sessionid", django_client.cookies["sessionid"].value)
        page = http.get(reverse("wallet:home"))
        assert page.status_code == 200
        http.headers["X-CSRFToken"] = http.cookies["csrftoken"]
        yield http


def assert_clean_503(response):
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert 'data-testid="unavailable"' in response.text
    assert "Traceback" not in response.text and "OperationalError" not in response.text


def test_a_hold_whose_connection_drops_mid_transaction_leaves_nothing_and_the_retry_works(
    live_server, server_connections, alice, concert_date
):
    admit(alice, concert_date.concert)
    hold_url = reverse("booking:hold", args=[concert_date.pk])
    with browser(live_server, alice) as http:
        before = state_snapshot()
        # The seats are already marked HELD inside the transaction when the reservation INSERT runs.
        server_connections.kill_at = 'INSERT INTO "booking_reservation"'
        response = http.post(hold_url, data={"seats": ["11", "12"]})
        assert server_connections.killed, "the hook never fired"
        assert_clean_503(response)
        assert state_snapshot() == before
        assert set(Seat.objects.filter(concert_date=concert_date).values_list("status", flat=True)) == {"AVAILABLE"}

        retry = http.post(hold_url, data={"seats": ["11", "12"]})
        assert retry.status_code == 302, retry.text[:2000]
        assert retry.headers["Location"] == reverse("booking:checkout", args=[concert_date.pk])
    assert sorted(
        Reservation.objects.filter(user=alice, status="HOLD").values_list("seat__seat_number", flat=True)
    ) == [
        11,
        12,
    ]
    assert len(set(server_connections.pids)) >= 2  # the retry ran on a new connection


def test_a_payment_whose_connection_drops_after_the_debit_charges_nothing_and_pays_once_on_retry(
    live_server, server_connections, alice, concert_date
):
    admit(alice, concert_date.concert)
    hold(alice, concert_date, 21, 22)
    checkout_url = reverse("booking:checkout", args=[concert_date.pk])
    form = pay_data(user=alice, concert_date=concert_date, key="6f1d3c1e-8f7a-4b1e-9d0a-3c2b1a0f9e8d")
    with browser(live_server, alice) as http:
        balance = alice.balance
        # By the Payment INSERT the balance is debited and the usages written, in the same transaction.
        server_connections.kill_at = 'INSERT INTO "booking_payment"'
        response = http.post(checkout_url, data=form)
        assert server_connections.killed
        assert_clean_503(response)
        alice.refresh_from_db()
        assert alice.balance == balance
        assert not Payment.objects.exists()
        assert not UsageHistory.objects.filter(action_type="RESERVATION").exists()
        assert set(Reservation.objects.values_list("status", flat=True)) == {"HOLD"}
        assert_ledger_reconciles()

        retry = http.post(checkout_url, data=form)
        assert retry.status_code == 302
        again = http.post(checkout_url, data=form)  # a double click after the retry
        assert again.status_code in (302, 409)
    alice.refresh_from_db()
    paid = Reservation.objects.filter(user=alice, status="CONFIRMED")
    assert paid.count() == 2
    assert alice.balance == balance - sum(r.price for r in paid)
    assert Payment.objects.filter(status="SUCCESS").count() == 2
    assert_ledger_reconciles()


def test_a_persistent_connection_killed_while_idle_is_replaced_before_the_next_request(
    live_server, server_connections, alice, concert_date
):
    settings_dict = connections.settings["default"]
    old_max_age = settings_dict["CONN_MAX_AGE"]
    settings_dict["CONN_MAX_AGE"] = 300  # keep the server's connection between requests, like production
    try:
        with browser(live_server, alice) as http:
            assert http.get(reverse("booking:reservations")).status_code == 200
            opened = len(server_connections.pids)
            assert http.get(reverse("booking:reservations")).status_code == 200
            assert len(server_connections.pids) == opened  # the connection was kept, not reopened
            live = server_connections.pids[-1]
            terminate_backend(live)  # dies while idle, between two requests
            response = http.get(reverse("booking:reservations"))
            assert response.status_code == 200, response.text[:2000]
            assert re.search(r"<html", response.text)
            assert server_connections.pids[-1] != live  # CONN_HEALTH_CHECKS found it dead and reconnected
    finally:
        settings_dict["CONN_MAX_AGE"] = old_max_age
