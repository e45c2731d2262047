"""/healthz/ answers a load balancer's probe by instance address, over plain HTTP, and names no exception.

A probe asks an instance directly (Host: 10.0.0.5:8000), which is never in ALLOWED_HOSTS; every other
request is still validated against ALLOWED_HOSTS and redirected to HTTPS.
"""

import socket

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PROBE_HOST = "10.0.0.5:8000"


@pytest.fixture
def production_like(settings):
    settings.ALLOWED_HOSTS = ["tickets.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.DEBUG = False


@pytest.mark.parametrize("method", ["get", "head"])
def test_a_probe_by_instance_address_over_plain_http_is_answered(production_like, method):
    response = getattr(Client(), method)("/healthz/", HTTP_HOST=PROBE_HOST)

    assert response.status_code == 200
    if method == "get":
        assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_every_other_page_still_checks_the_host_and_redirects_to_https(production_like):
    client = Client()
    assert client.get("/", HTTP_HOST=PROBE_HOST).status_code == 400
    assert client.get("/healthz/?x=1", HTTP_HOST="tickets.example.com").status_code == 200
    redirected = client.get("/", HTTP_HOST="tickets.example.com")
    assert redirected.status_code == 301 and redirected["Location"] == "https://tickets.example.com/"
    assert client.get("/healthz/x/", HTTP_HOST=PROBE_HOST).status_code == 400


def test_a_probe_cannot_change_anything(production_like):
    assert Client().post("/healthz/", HTTP_HOST=PROBE_HOST).status_code == 405


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_failing_check_says_error_without_naming_the_exception(production_like, settings, caplog):
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = Client().get("/healthz/", HTTP_HOST=PROBE_HOST)

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "error"}
    assert "ConnectionError" in caplog.text  # the operator's log has the details, the probe's answer does not
