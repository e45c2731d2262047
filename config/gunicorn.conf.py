"""gunicorn settings for one Frontrow web instance (`gunicorn -c config/gunicorn.conf.py config.wsgi`).

gthread workers: each worker process runs WEB_THREADS request threads, and every request spends most
of its time waiting on PostgreSQL or Redis, so threads overlap that waiting without a process per
request. The database pool in config.settings_production is sized per process to match.
Run one instance per port (PORT); start more instances to scale out, nothing else changes.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
# One worker process per CPU across the host, shared by the public instances `make up` runs there (two; the
# booking lane has BOOKING_WORKERS, 1, of its own): with the GIL a worker uses about one CPU, and more processes
# than CPUs only add switching (bench/README.md).
workers = int(
    os.environ.get("WEB_WORKERS") or max(1, (os.cpu_count() or 2) // int(os.environ.get("WEB_INSTANCES", "2")))
)
threads = int(os.environ.get("WEB_THREADS", "8"))
# Keep-alive connections from a load balancer (or the bench) are reused instead of re-opened.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
backlog = 2048
# Trust X-Forwarded-* only from the local proxy (nginx on the same host); see README "Full stack".
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = f"frontrow-web-{os.environ.get('PORT', '8000')}"
# gunicorn's control socket has one default path per user, which two instances on one host would
# fight over; nothing here uses gunicornc.
control_socket_disable = True

# Structured logs: the same JSON lines as Django, Celery and RQ (config.jsonlog). The access log
# (one line per request) can be turned off with ACCESS_LOG=false for throughput runs.
_access_log = os.environ.get("ACCESS_LOG", "true").lower() in {"1", "true", "yes", "on"}
accesslog = "-" if _access_log else None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.jsonlog.JsonLineFormatter"}},
    "handlers": {
        "error_console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        "access_console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {
            "level": "INFO" if _access_log else "WARNING",
            "handlers": ["access_console"],
            "propagate": False,
        },
    },
    "root": {"level": "INFO", "handlers": []},
}
