"""Production settings, seen from a browser: secure HttpOnly cookies, HTTPS only, the security headers and the
CSP on real responses; and no secret in the repository.

The responses come from config.settings_production in a fresh interpreter (tests/stack's helpers give it
the required environment, pointed at the test database and Redis).
"""

import json
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests import factories
from tests.stack.conftest import production_env, run_manage

BROWSE = r"""
import json, django
django.setup()
from django.test import Client
from django.test.utils import override_settings

def cookie(morsel):
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"]}

# collectstatic's manifest is not built here; static file names do not matter to these headers.
plain_static = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=plain_static):
    client = Client(HTTP_HOST="localhost")
    plain = client.get("/accounts/login/")
    page = client.get("/accounts/login/", secure=True)
    csrf = client.cookies["csrftoken"]
    logged_in = client.post(
        "/accounts/login/",
        {"username": "%(email)s", "password": "correct-horse-battery", "csrfmiddlewaretoken": csrf.value},
        secure=True, HTTP_REFERER="https://localhost/accounts/login/",
    )
    # A load balancer's probe: plain HTTP, the instance's own address as Host (not in ALLOWED_HOSTS).
    probe = Client(HTTP_HOST="10.0.0.5:8000").get("/healthz/")
    other_page_by_address = Client(HTTP_HOST="10.0.0.5:8000").get("/accounts/login/", secure=True)
    print(json.dumps({
        "probe_status": probe.status_code,
        "probe": probe.json(),
        "other_page_by_address_status": other_page_by_address.status_code,
        "plain_status": plain.status_code,
        "plain_location": plain.get("Location"),
        "page_status": page.status_code,
        "headers": {k.lower(): v for k, v in page.headers.items()},
        "csrf_cookie": cookie(page.cookies["csrftoken"]),
        "login_status": logged_in.status_code,
        "session_cookie": cookie(logged_in.cookies["sessionid"]),
    }))
"""


@pytest.mark.django_db(transaction=True)
def test_production_responses_carry_secure_cookies_and_security_headers(tmp_path, settings):
    import config.settings as default_settings

    settings.PASSWORD_HASHERS = default_settings.PASSWORD_HASHERS  # a hash production can check
    fan = factories.UserFactory(email="prod@example.com")
    completed = run_manage(["shell", "-c", BROWSE % {"email": fan.email}], production_env(tmp_path))
    assert completed.returncode == 0, completed.stderr[-3000:]
    seen = json.loads(completed.stdout.strip().splitlines()[-1])

    assert seen["probe_status"] == 200
    assert seen["probe"] == {"status": "ok", "database": "ok", "redis": "ok"}
    assert seen["other_page_by_address_status"] == 400  # ALLOWED_HOSTS still guards every page
    assert seen["plain_status"] == 301
    assert seen["plain_location"].startswith("https://")
    assert seen["page_status"] == 200
    headers = seen["headers"]
    assert re.match(r"max-age=\d{8,}; includeSubDomains; preload", headers["strict-transport-security"])
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp

    assert seen["csrf_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert seen["login_status"] == 302
    assert seen["session_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_production_turns_login_throttling_on(tmp_path):
    script = "import django; django.setup(); from django.conf import settings as s; " + (
        "print(s.AXES_ENABLED, s.AXES_FAILURE_LIMIT, 'axes.middleware.AxesMiddleware' == s.MIDDLEWARE[-1], "
        "s.AUTHENTICATION_BACKENDS[0], s.PASSWORD_HASHERS[0].rsplit('.', 1)[1])"
    )
    completed = run_manage(["shell", "-c", script], production_env(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines()[-1].split() == [
        "True",
        "5",
        "True",
        "axes.backends.AxesStandaloneBackend",
        "Argon2PasswordHasher",
    ]


# --- No secret in the repository ---------------------------------------------------------------------

SECRET_PATTERNS = {
    "a private key": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    # Placeholders in the docs ("postgres://user:pass@host/db") are not passwords.
    "a password in a URL": re.compile(
        r"\b(postgres|postgresql|redis|rediss|amqp|mysql)://[^:/@\s]+:(?!(pass|password|secret|PASSWORD)@)[^@\s{$<]+@"
    ),
    "an assigned secret": re.compile(
        r"""(SECRET_KEY|PASSWORD|API_KEY|TOKEN|AWS_SECRET_ACCESS_KEY)\s*[:=]\s*["'][A-Za-z0-9+/_\-!@#%^&*]{24,}["']"""
    ),
    "an AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
}
# Values that say of themselves that they are not secrets: the embedded demo's key (production refuses it)
# and the benchmark's throw-away fan password.
DECLARED_NOT_SECRET = ("django-insecure-", "not-secret")


def _tracked_files():
    root = Path(settings.BASE_DIR)
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True)
    return [root / name for name in listed.stdout.split("\0") if name]


def find_secrets(text):
    found = []
    for what, pattern in SECRET_PATTERNS.items():
        for match in pattern.finditer(text):
            if not any(marker in match.group(0) for marker in DECLARED_NOT_SECRET):
                found.append(f"{what}: {match.group(0)[:60]}")
    return found


def test_no_secret_is_committed():
    found = []
    for path in _tracked_files():
        if path.suffix in {".mo", ".png", ".ico", ".gz", ".woff", ".woff2", ".sqlite3"} or not path.is_file():
            continue
        found += [f"{path.name}: {hit}" for hit in find_secrets(path.read_text(errors="ignore"))]
    assert found == []


def test_the_patterns_would_catch_a_committed_secret():
    # Control for the scan above (the samples are put together here so this file does not contain them).
    samples = [
        "-----BEGIN RSA " + "PRIVATE KEY-----",
        "DATABASE_URL=postgres://app:" + "hunter2hunter2@db.internal/frontrow",
        "SECRET_KEY = " + '"k3j4h5g6f7d8s9a0p1o2i3u4y5t6r7e8w9q0"',
        "API_KEY: " + "'AbCdEfGhIjKlMnOpQrStUvWxYz012345'",
    ]
    assert all(find_secrets(sample) for sample in samples)
    assert find_secrets("SECRET_KEY = " + '"django-insecure-frontrow-local-development-only"') == []


def test_env_files_are_never_committed():
    names = {path.name for path in _tracked_files()}
    assert ".env" not in names
    assert ".env" in (Path(settings.BASE_DIR) / ".gitignore").read_text().split()


def test_the_only_built_in_key_is_marked_insecure_and_production_refuses_it(tmp_path):
    import config.settings as default_settings

    assert default_settings.SECRET_KEY.startswith("django-insecure-") or "SECRET_KEY" in __import__("os").environ
    completed = run_manage(
        ["check"], production_env(tmp_path, SECRET_KEY="django-insecure-frontrow-local-development-only")
    )
    assert completed.returncode != 0
    assert "SECRET_KEY" in completed.stderr
