"""config.settings_production: deploy checks clean, required environment enforced, nothing per-process.

Each case loads the production settings in a fresh interpreter with a clean environment, the way
gunicorn, Celery and RQ load them.
"""

import json
import logging
import os
import re
import subprocess
import sys

import pytest

from config.jsonlog import JsonLineFormatter

from .conftest import BASE_DIR, REQUIRED_VARIABLES, dotenv_defines, production_env, run_manage

SETTINGS_DUMP = """
import json, django
django.setup()
from django.conf import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "DEBUG": s.DEBUG,
    "engine": db["ENGINE"],
    "conn_max_age": db["CONN_MAX_AGE"],
    "pool": db.get("OPTIONS", {}).get("pool"),
    "cache_backend": s.CACHES["default"]["BACKEND"],
    "cache_location": s.CACHES["default"]["LOCATION"],
    "cache_options": s.CACHES["default"]["OPTIONS"],
    "redis_backoff": s.REDIS_BACKOFF_SECONDS,
    "session_engine": s.SESSION_ENGINE,
    "staticfiles_backend": s.STORAGES["staticfiles"]["BACKEND"],
    "whitenoise": "whitenoise.middleware.WhiteNoiseMiddleware" in s.MIDDLEWARE,
    "queue_backend": s.QUEUE_BACKEND,
    "celery_eager": s.CELERY_TASK_ALWAYS_EAGER,
    "celery_broker": s.CELERY_BROKER_URL,
    "rq_url": s.RQ_QUEUES["default"]["URL"],
    "rq_async": s.RQ_ASYNC,
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "session_cookie_secure": s.SESSION_COOKIE_SECURE,
    "session_cookie_httponly": s.SESSION_COOKIE_HTTPONLY,
    "csrf_cookie_secure": s.CSRF_COOKIE_SECURE,
    "hsts_seconds": s.SECURE_HSTS_SECONDS,
    "nosniff": s.SECURE_CONTENT_TYPE_NOSNIFF,
    "x_frame_options": s.X_FRAME_OPTIONS,
    "proxy_ssl_header": s.SECURE_PROXY_SSL_HEADER,
    "email_backend": s.EMAIL_BACKEND,
    "email_host": s.EMAIL_HOST,
    "email_port": s.EMAIL_PORT,
    "email_use_tls": s.EMAIL_USE_TLS,
    "axes_proxy_count": getattr(s, "AXES_IPWARE_PROXY_COUNT", None),
    "axes_meta_order": list(getattr(s, "AXES_IPWARE_META_PRECEDENCE_ORDER", [])),
    "site_url": s.SITE_URL,
}))
"""


def dump_settings(tmp_path, **overrides):
    completed = run_manage(["shell", "-c", SETTINGS_DUMP], production_env(tmp_path, **overrides))
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_the_required_environment(tmp_path):
    completed = run_manage(["check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "no issues" in completed.stdout


def test_plain_http_mode_is_what_check_deploy_warns_about(tmp_path):
    # ALLOW_PLAIN_HTTP is for localhost runs only; the deploy check must still say so.
    completed = run_manage(
        ["check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path, ALLOW_PLAIN_HTTP="true")
    )

    assert completed.returncode != 0
    for warning in ("security.W008", "security.W012", "security.W016", "security.W004"):
        assert warning in completed.stderr


@pytest.mark.parametrize("missing", REQUIRED_VARIABLES)
def test_refuses_to_start_without_a_required_variable(tmp_path, missing):
    if dotenv_defines(missing):
        pytest.skip(f"the project's .env sets {missing}")

    completed = run_manage(["check"], production_env(tmp_path, **{missing: None}))

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert missing in completed.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SECRET_KEY", "django-insecure-frontrow-local-development-only", "SECRET_KEY must be a random value"),
        ("SECRET_KEY", "short-but-not-empty", "SECRET_KEY must be a random value"),
        ("DATABASE_URL", "sqlite:////tmp/frontrow.sqlite3", "Production settings need PostgreSQL"),
        ("REDIS_URL", "memcached://127.0.0.1:11211", "REDIS_URL must be a redis://"),
        ("QUEUE_REDIS_URL", "127.0.0.1:7000", "QUEUE_REDIS_URL must be a redis://"),
        ("ALLOWED_HOSTS", "", "Set ALLOWED_HOSTS"),
        ("SITE_URL", "tickets.example.com", "SITE_URL must be the site's address"),
        ("ALLOWED_HOSTS", ".example.com", "Set SITE_URL to the site's address"),
    ],
)
def test_refuses_to_start_with_an_unusable_value(tmp_path, variable, value, message):
    completed = run_manage(["check"], production_env(tmp_path, **{variable: value}))

    assert completed.returncode != 0
    assert message in completed.stderr


def test_e_mails_link_to_site_url_or_else_the_first_allowed_host(tmp_path):
    hosts = "tickets.example.com,www.example.com"
    assert dump_settings(tmp_path, ALLOWED_HOSTS=hosts)["site_url"] == "https://tickets.example.com"
    assert dump_settings(tmp_path, ALLOW_PLAIN_HTTP="true")["site_url"] == "http://127.0.0.1"
    given = dump_settings(tmp_path, ALLOWED_HOSTS=".example.com", SITE_URL="https://frontrow.example.com/")
    assert given["site_url"] == "https://frontrow.example.com"


def test_nothing_is_kept_in_process_memory(tmp_path):
    values = dump_settings(tmp_path)

    assert values["DEBUG"] is False
    assert values["engine"] == "django.db.backends.postgresql"
    # Sessions: Redis first, PostgreSQL behind it; the cache is Redis, not locmem.
    # cached_db that reads PostgreSQL when Redis is down, and a cache for which that is a miss
    # (tests/faults/test_redis_stopped.py runs these two against a Redis it kills).
    assert values["session_engine"] == "config.sessions"
    assert values["cache_backend"] == "config.cache.RedisCache"
    assert values["cache_location"].startswith("redis://")
    # A Redis that does not answer costs a request under a second and a half, once per back-off.
    assert values["cache_options"]["socket_connect_timeout"] + values["cache_options"]["socket_timeout"] <= 1.5
    assert 0 < values["redis_backoff"] <= 30
    # Queue state, Celery and RQ all go to Redis; nothing runs eagerly inside a web process.
    assert values["queue_backend"] == "redis"
    assert values["celery_eager"] is False
    assert values["celery_broker"] == values["cache_location"]
    assert values["rq_url"] == values["cache_location"]
    assert values["rq_async"] is True


def test_web_processes_share_a_connection_pool_and_workers_can_opt_out(tmp_path):
    web = dump_settings(tmp_path, DB_POOL_MAX_SIZE="6")
    worker = dump_settings(tmp_path, DB_POOL="false", CONN_MAX_AGE="30")

    assert web["pool"] == {"min_size": 2, "max_size": 6, "timeout": 10.0}
    assert web["conn_max_age"] == 0  # Django refuses persistent connections together with a pool
    assert worker["pool"] is None
    assert worker["conn_max_age"] == 30


def test_https_hardening_is_on_by_default(tmp_path):
    values = dump_settings(tmp_path)

    assert values["ssl_redirect"] is True
    assert values["session_cookie_secure"] is True
    assert values["session_cookie_httponly"] is True
    assert values["csrf_cookie_secure"] is True
    assert values["hsts_seconds"] >= 31_536_000
    assert values["nosniff"] is True
    assert values["x_frame_options"] == "DENY"
    assert values["proxy_ssl_header"] is None
    assert values["staticfiles_backend"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert values["whitenoise"] is True


def test_plain_http_flag_and_proxy_header_are_opt_in(tmp_path):
    local = dump_settings(tmp_path, ALLOW_PLAIN_HTTP="true")
    local_but_secure_cookies = dump_settings(tmp_path, ALLOW_PLAIN_HTTP="true", SESSION_COOKIE_SECURE="true")
    proxied = dump_settings(tmp_path, SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO", TRUSTED_PROXY_COUNT="1")

    assert (local["ssl_redirect"], local["session_cookie_secure"], local["csrf_cookie_secure"]) == (False,) * 3
    assert local["hsts_seconds"] == 0
    assert local["session_cookie_httponly"] is True  # never relaxed
    assert local_but_secure_cookies["session_cookie_secure"] is True
    assert proxied["proxy_ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_log_lines_are_json_with_the_extras(tmp_path):
    script = (
        "import logging, django; django.setup(); "
        "logging.getLogger('frontrow.bench').warning('seat %s sold', 7, extra={'concert': 'c-1'})"
    )
    completed = run_manage(["shell", "-c", script], production_env(tmp_path))

    assert completed.returncode == 0, completed.stderr
    line = json.loads(completed.stderr.strip().splitlines()[-1])
    assert line["level"] == "WARNING"
    assert line["logger"] == "frontrow.bench"
    assert line["message"] == "seat 7 sold"
    assert line["concert"] == "c-1"
    assert line["ts"].endswith("+00:00")


def test_access_log_records_become_fields():
    atoms = {"h": "127.0.0.1", "m": "POST", "U": "/dates/1/hold/", "q": "", "s": "302", "B": 0, "M": 12, "a": "x"}
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(h)s %(r)s", (atoms,), None)

    line = json.loads(JsonLineFormatter().format(record))

    assert line["message"] == "request"
    assert (line["method"], line["path"], line["status"], line["duration_ms"]) == ("POST", "/dates/1/hold/", 302, 12)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/admin/concerts/salesdashboard/ticket/", "code={code}"),
        ("/admin/booking/checkin/door/", "concert_date=abc&code={code}&x=1"),
        ("/somewhere/", "ticket={code}"),
        ("/tickets/{code}/", ""),
    ],
)
def test_ticket_codes_are_redacted_from_the_access_log(path, query):
    code = "IjNmMmY0ZDJiLTk5ODgtNGQ3MS1hMTJlLTc3ZWE3ZjBhMWIyMyI:1t5Xyz:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"
    atoms = {"h": "127.0.0.1", "m": "GET", "U": path.format(code=code), "q": query.format(code=code), "s": "200"}
    atoms.update({"B": 10, "M": 3, "a": "x", "r": f"GET {path.format(code=code)}?{query.format(code=code)} HTTP/1.1"})
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(h)s %(r)s", (atoms,), None)

    text = JsonLineFormatter().format(record)

    assert code not in text
    assert code[:20] not in text
    line = json.loads(text)
    assert "REDACTED" in line["path"] + line["query"]
    if "x=1" in query:
        assert line["query"] == "concert_date=abc&code=REDACTED&x=1"  # other parameters stay readable


def test_a_password_reset_links_token_is_redacted_from_the_access_log_and_a_uuid_is_not():
    token = "ckx3f1-8b1e0c7d2a4f9e3b6c5d8a7f1e2b3c4d"  # Django's PasswordResetTokenGenerator: time-hash
    concert = "3f2f4d2b-9988-4d71-a12e-77ea7f0a1b23"
    path = f"/accounts/password/reset/MjQ/{token}/"
    atoms = {"h": "127.0.0.1", "m": "GET", "U": path, "q": f"concert={concert}", "s": "302"}
    atoms.update({"B": 0, "M": 3, "a": "x", "r": f"GET {path}?concert={concert} HTTP/1.1"})
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(h)s %(r)s", (atoms,), None)

    line = json.loads(JsonLineFormatter().format(record))

    assert line["path"] == "/accounts/password/reset/MjQ/REDACTED/"
    assert line["query"] == f"concert={concert}"


def test_error_records_keep_the_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    line = json.loads(JsonLineFormatter().format(record))

    assert line["level"] == "ERROR"
    assert "ValueError: boom" in line["exc_info"]


def test_procfile_starts_the_whole_stack():
    entries = dict(
        line.split(":", 1) for line in (BASE_DIR / "Procfile").read_text().splitlines() if line and line[0] != "#"
    )

    assert set(entries) == {"web1", "web2", "booking", "worker", "beat", "rqworker"}
    for web in ("web1", "web2", "booking"):
        assert "gunicorn -c config/gunicorn.conf.py config.wsgi" in entries[web]
    assert "8001" in entries["web1"] and "8002" in entries["web2"] and "8003" in entries["booking"]
    assert "celery -A config" in entries["worker"] and " worker " in entries["worker"]
    assert " beat " in entries["beat"]
    assert "rqworker" in entries["rqworker"]


def test_mail_server_and_trusted_proxies_come_from_the_environment(tmp_path):
    plain = dump_settings(tmp_path, EMAIL_URL=None)
    configured = dump_settings(
        tmp_path, EMAIL_URL="smtp+tls://tickets:secret@smtp.example.test:587", TRUSTED_PROXY_COUNT="1"
    )

    assert plain["email_backend"] == "django.core.mail.backends.console.EmailBackend"
    assert plain["axes_proxy_count"] is None
    assert configured["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (configured["email_host"], configured["email_port"], configured["email_use_tls"]) == (
        "smtp.example.test",
        587,
        True,
    )
    # Behind one proxy, failed log-ins are counted per client address, not per proxy address.
    assert configured["axes_proxy_count"] == 1
    assert configured["axes_meta_order"][0] == "HTTP_X_FORWARDED_FOR"


@pytest.mark.parametrize("count", [None, "0"])
def test_refuses_to_start_behind_a_proxy_without_a_trusted_proxy_count(tmp_path, count):
    # Behind nginx every client would be 127.0.0.1: the log-in lockout would become per e-mail address,
    # and anyone could lock a fan out at a sale's opening.
    completed = run_manage(
        ["check"], production_env(tmp_path, SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO", TRUSTED_PROXY_COUNT=count)
    )

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert "TRUSTED_PROXY_COUNT" in completed.stderr


def test_behind_the_documented_nginx_failed_log_ins_count_per_client(tmp_path):
    values = dump_settings(tmp_path, SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO", TRUSTED_PROXY_COUNT="1")

    assert values["proxy_ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["axes_proxy_count"] == 1
    assert values["axes_meta_order"][0] == "HTTP_X_FORWARDED_FOR"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("QUEUE_OPENING_POLLS_PER_SECOND", "0"),
        ("QUEUE_OPENING_POLLS_PER_SECOND", "-5"),
        ("QUEUE_ADMIT_PER_MINUTE", "0"),
    ],
)
def test_refuses_to_start_with_a_queue_rate_of_zero_or_less(tmp_path, variable, value):
    # Either would divide by zero (or stop admission for good) on the first poll or run instead of at start.
    completed = run_manage(["check"], production_env(tmp_path, **{variable: value}))

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert variable in completed.stderr


def priority_of(procfile_line, **env):
    """Run a Procfile line as honcho does (sh -c, in a session of its own) with its program replaced by one that
    prints its own nice value and its autogroup's: what the scheduler would rank the real process by."""
    command = procfile_line.split(":", 1)[1]
    command = re.sub(r"gunicorn .*|python manage.py rqworker .*", "", command) + (
        " python3 -c 'import os; print(os.nice(0), open(\"/proc/self/autogroup\").read().split()[-1])'"
    )
    done = subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, env={**os.environ, **env}, start_new_session=True
    )
    assert done.returncode == 0, done.stderr
    nice, group_nice = done.stdout.split()
    return int(nice), int(group_nice)


@pytest.mark.skipif(not os.path.exists("/proc/self/autogroup"), reason="the kernel does not group tasks by session")
def test_the_booking_lane_outranks_the_public_instances_and_the_jobs_when_cpu_is_short():
    entries = dict(
        line.split(":", 1) for line in (BASE_DIR / "Procfile").read_text().splitlines() if line and line[0] != "#"
    )
    line = {name: f"{name}:{command}" for name, command in entries.items()}

    ours = os.nice(0)  # a nice value adds to the parent's (honcho's), up to 19; the autogroup's is absolute

    assert priority_of(line["booking"]) == (ours, 0)
    assert priority_of(line["web1"]) == priority_of(line["web2"]) == (min(19, ours + 10), 10)
    assert priority_of(line["rqworker"]) == (min(19, ours + 15), 15)
    assert priority_of(line["web1"], PUBLIC_NICE="0") == (ours, 0)
