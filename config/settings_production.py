"""Production settings: the full stack (PostgreSQL + Redis), every web instance interchangeable.

Starts from config.settings and refuses to start unless SECRET_KEY, DATABASE_URL (PostgreSQL),
REDIS_URL and ALLOWED_HOSTS come from the environment. Sessions, cache, queue state and locks live in
PostgreSQL or Redis, never in process memory, so a fan may hit any instance at any step.

`manage.py check --deploy --settings=config.settings_production` is clean with the defaults. For plain
HTTP on localhost (`make up`, `make bench`) set ALLOW_PLAIN_HTTP=true: it turns off the HTTPS
redirect and the Secure flag on cookies (each also settable on its own); never set it behind TLS.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F403
from .settings import checked_site_url, env

DEBUG = False
# A missing variable raises ImproperlyConfigured ("Set the SECRET_KEY environment variable").
SECRET_KEY = env.str("SECRET_KEY")
if SECRET_KEY.startswith("django-insecure-") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be a random value of at least 50 characters in production.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set ALLOWED_HOSTS to the host names this site answers to.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Database: PostgreSQL, connections reused through a psycopg pool ------------------------------
# Why a pool rather than CONN_MAX_AGE: gunicorn runs gthread workers (several threads per process).
# With CONN_MAX_AGE every thread keeps its own connection open whether it is busy or not; the pool
# shares DB_POOL_MAX_SIZE connections between a process's threads, hands one out per request and
# takes it back when Django closes it at the end of the request. That keeps the connection count
# bounded by the pool size, not the thread count (PostgreSQL's max_connections is shared by every web
# instance and worker), and puts excess concurrency in a short queue in the app instead of in
# PostgreSQL. Processes that run one job or task at a time (the RQ worker, Celery) set DB_POOL=false
# and keep a persistent connection per process with CONN_MAX_AGE instead (see Procfile).
DATABASES = {"default": env.db("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production settings need PostgreSQL: DATABASE_URL=postgres://user:pass@host/db")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if env.bool("DB_POOL", default=True):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses a pool with persistent connections.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=8),
        # A request that cannot get a connection within this many seconds fails instead of hanging.
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if env("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME")}

# --- Redis: cache, sessions, broker, RQ, the queue backend ----------------------------------------
REDIS_URL = env.str("REDIS_URL")
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must be a redis:// (or rediss://, unix://) URL.")
# The queue's own Redis (a Redis Cluster node with QUEUE_REDIS_CLUSTER=true), or empty for REDIS_URL's.
QUEUE_REDIS_URL = env.str("QUEUE_REDIS_URL", default="")
if QUEUE_REDIS_URL and not QUEUE_REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("QUEUE_REDIS_URL must be a redis:// (or rediss://, unix://) URL, or empty.")
# CACHES comes from config.settings (REDIS_URL is set): config.cache.RedisCache, for which a Redis outage
# is a miss, with short timeouts and the per-process circuit breaker (REDIS_*_TIMEOUT, REDIS_BACKOFF_SECONDS).
# Sessions are read from Redis and written through to PostgreSQL: any instance finds them, a Redis restart
# logs nobody out, and with Redis down they are read from PostgreSQL (config/sessions.py, cached_db's kin).
SESSION_ENGINE = "config.sessions"
QUEUE_BACKEND = env.str("QUEUE_BACKEND", default="redis")

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep the JSON log lines below
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # short periodic tasks: do not let one worker hoard them
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
RQ_ASYNC = True

# --- HTTPS and browser security -------------------------------------------------------------------
# Local plain-HTTP runs (make up, make bench) set ALLOW_PLAIN_HTTP=true; each switch below can also be
# set on its own.
_plain_http = env.bool("ALLOW_PLAIN_HTTP", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not _plain_http)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]  # load balancers probe instances over plain HTTP
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not _plain_http)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not _plain_http)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # no script of ours reads it: forms carry the token in a hidden field
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if _plain_http else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The address e-mails link to: SITE_URL, else the first of ALLOWED_HOSTS over HTTPS (HTTP with ALLOW_PLAIN_HTTP).
_site_url = env.str("SITE_URL", default="")
if not _site_url:
    if ALLOWED_HOSTS[0].startswith(".") or "*" in ALLOWED_HOSTS[0]:
        raise ImproperlyConfigured(
            "Set SITE_URL to the site's address (https://tickets.example.com): the e-mails link to it, and the first "
            f"of ALLOWED_HOSTS ({ALLOWED_HOSTS[0]!r}) is a pattern, not a host."
        )
    _site_url = f"{'http' if _plain_http else 'https'}://{ALLOWED_HOSTS[0]}"
SITE_URL = checked_site_url(_site_url)
# Behind a TLS-terminating proxy (nginx, a cloud load balancer) that sets X-Forwarded-Proto, set
# SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO. Only do so when the proxy always overwrites it.
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https")

# Behind N trusted proxies, django-axes takes the client address from X-Forwarded-For instead of
# counting every failed log-in as coming from the proxy. A proxy that says the request was HTTPS is a
# proxy: without the count every fan would be the proxy's address, the lockout would be per e-mail
# address only, and anyone could lock a fan out at a sale's opening. So that combination does not start.
_trusted_proxies = env.int("TRUSTED_PROXY_COUNT", default=0)
if _proxy_ssl_header and _trusted_proxies < 1:
    raise ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER is set, so requests come through a proxy: set TRUSTED_PROXY_COUNT to the "
        "number of proxies in front of gunicorn (1 for nginx alone) so failed log-ins count per client address."
    )
if _trusted_proxies:
    AXES_IPWARE_PROXY_COUNT = _trusted_proxies
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# --- E-mail: EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587 ------------------------
# Without it the base setting (EMAIL_BACKEND, the console by default) stays; dummymail:// drops mail.
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))

# --- Static files: WhiteNoise serves collectstatic's hashed, compressed files ---------------------
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(STATIC_ROOT)))  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# A file missing from the manifest (a deploy that skipped collectstatic) links its plain name instead
# of failing every page that uses it, the 500 page included.
WHITENOISE_MANIFEST_STRICT = False

# --- Structured logs: one JSON object per line on stderr ------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.jsonlog.JsonLineFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own request/security loggers propagate to root; do not double them up.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
        "celery": {"level": "INFO"},
        "rq.worker": {"level": "INFO"},
    },
}
