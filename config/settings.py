"""Frontrow settings, read from the environment (or a `.env` file) with django-environ.

Every default is the embedded one: SQLite in the project folder, the database queue backend,
no Redis. Point DATABASE_URL / REDIS_URL / QUEUE_BACKEND elsewhere for the full stack.
"""

import datetime
import hashlib
import hmac
import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# Django's generic classes (ModelAdmin[...], ModelForm[...], QuerySet[...]) take the type arguments that
# annotations give them (checked by mypy with django-stubs) at run time too.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG: bool = env.bool("DEBUG", default=True)
# The default key is only for the embedded demo on this machine (manage.py's default settings, `make run`);
# config.settings_production refuses to start without a real one.
DEVELOPMENT_SECRET_KEY = "django-insecure-frontrow-local-development-only"
SECRET_KEY: str = env("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
# Fail closed: the key in the repository signs sessions and e-ticket codes, so it is refused anywhere but
# DEBUG on this machine (a site with DEBUG off or a real host name is serving someone).
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", "testserver"}
if SECRET_KEY == DEVELOPMENT_SECRET_KEY and (not DEBUG or not set(ALLOWED_HOSTS) <= _LOCAL_HOSTS):
    raise ImproperlyConfigured(
        "The built-in development SECRET_KEY only runs with DEBUG on and ALLOWED_HOSTS on this machine "
        "(localhost): anyone could forge sessions and e-ticket codes with it. Set SECRET_KEY to a random "
        "value, or run config.settings_production."
    )

INSTALLED_APPS = [
    "config.apps.AdminConfig",  # django.contrib.admin, its site auditing every staff change (accounts.admin_site)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "config.apps.DjangoRQConfig",  # django_rq, with a translated name in the admin
    "config.apps.AxesConfig",  # axes, likewise
    # Staff two-factor (accounts/two_factor.py): TOTP authenticator apps and single-use backup codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "concerts",
    "booking",
    "wallet",
    "queueing",
    "ninja",  # its docs page's template and its Swagger UI files, served from our own static files
]

MIDDLEWARE = [
    # First: answers a load balancer's /healthz/ probe before the host is validated (config/health.py).
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "config.middleware.RetryAfterMiddleware",  # outside every view and middleware that may answer a 429
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The waiting room's status poll, answered from its signed queue pass without a session (queueing/middleware.py).
    "queueing.middleware.FastPollMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",  # its token masked faster (config.middleware.mask_cipher_secret)
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Staff pages (STAFF_TWO_FACTOR_PATHS) only: staff who have not passed their second factor are sent to it.
    # Every other path passes straight through, with no lookup (accounts/middleware.py).
    "accounts.middleware.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: turns a locked-out log-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"layout": "config.layout"},  # {% site_header %}, for base.html
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES: dict[str, dict[str, Any]] = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (runserver, the e2e live server) write at once; wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
if env("TEST_DATABASE_NAME", default=""):
    # Lets several test runs share one PostgreSQL server without dropping each other's database.
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, sessions -----------------------------------------------------------------
REDIS_URL: str = env("REDIS_URL", default="")
# A Redis that does not answer costs one request at most these timeouts; then every caller of this process
# skips it for REDIS_BACKOFF_SECONDS (config/redis_circuit.py: the cache, sessions, RQ enqueue, the queue).
REDIS_CONNECT_TIMEOUT: float = env.float("REDIS_CONNECT_TIMEOUT", default=0.5)
REDIS_SOCKET_TIMEOUT: float = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)
REDIS_BACKOFF_SECONDS: float = env.float("REDIS_BACKOFF_SECONDS", default=5.0)
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis cache for which a Redis outage is a miss, never an error (config/cache.py).
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="frontrow"),
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
                "health_check_interval": 30,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "frontrow_cache"}}
SESSION_ENGINE: str = env("SESSION_ENGINE", default="django.contrib.sessions.backends.db")
# With SESSION_ENGINE="config.sessions" (production): the longest a session stays cached in Redis between
# reads from PostgreSQL.
SESSION_CACHE_SECONDS: int = env.int("SESSION_CACHE_SECONDS", default=600)

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "concerts:list"
LOGOUT_REDIRECT_URL = "concerts:list"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# E-mail verification: a link is sent at sign-up (and after a change of address); unverified fans browse and top up
# but must verify before entering a waiting room, unless this is off. Staff are never asked.
EMAIL_VERIFICATION_REQUIRED: bool = env.bool("EMAIL_VERIFICATION_REQUIRED", default=True)

# --- The JSON API's personal access tokens (accounts.services, booking/api/) ---------------------------------
# How many live (neither revoked nor expired) tokens one account may have, and the lifetimes a fan picks from.
API_TOKENS_PER_USER: int = env.int("API_TOKENS_PER_USER", default=10)
API_TOKEN_LIFETIME_DAYS: list[int] = [7, 30, 90, 365]
EMAIL_VERIFICATION_MAX_AGE: int = env.int("EMAIL_VERIFICATION_MAX_AGE", default=3 * 24 * 3600)
# How long a password-reset link works (it also stops working once used, or once the fan logs in).
PASSWORD_RESET_TIMEOUT: int = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes counts failed log-ins (fan pages and admin alike) and pauses logging in after
# AXES_FAILURE_LIMIT failures of one e-mail address from one IP address, for AXES_COOLOFF_TIME hours.
# django-axes first (it refuses a locked-out log-in before any password is checked); then ours, which logs in
# and loads the user of each request; Django's ModelBackend last, only for sessions logged in before
# accounts.backends existed (see LEGACY_BACKEND there).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.UserBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED: bool = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT: int = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(hours=env.float("AXES_COOLOFF_TIME", default=0.25))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"  # the log-in forms' field (it holds the e-mail address)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "config.lockout.client_ip"  # X-Forwarded-For only behind trusted proxies

# Staff two-factor (accounts/two_factor.py, README "Staff log-in and two-factor"): staff and superusers reach the
# paths below only after their authenticator's code (or a backup code) in this session. A wrong code counts as a
# failed log-in for django-axes (same lockout) and is rate limited (RATE_LIMIT_TWO_FACTOR).
# /admin/ holds the admin, django-rq's dashboard and the admin's check-in pages; /door/ the door staff's phone page.
STAFF_TWO_FACTOR_PATHS: list[str] = env.list("STAFF_TWO_FACTOR_PATHS", default=["/admin/", "/door/"])
OTP_TOTP_ISSUER: str = env("OTP_TOTP_ISSUER", default="Frontrow")  # the name authenticator apps show
OTP_TOTP_THROTTLE_FACTOR = 1  # after n wrong codes in a row a device waits 2^(n-1) s before it checks another
OTP_STATIC_THROTTLE_FACTOR = 1
STAFF_BACKUP_CODES: int = 10  # backup codes made at enrolment, each usable once

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date and time formats of the fans' pages, per language (concerts/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["concerts.formats"]
TIME_ZONE: str = env("TIME_ZONE", default="Asia/Seoul")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "media/"

# --- Content-Security-Policy (config.middleware) ------------------------------------------
# The fans' pages load scripts, styles, images and fonts from this origin only: no inline code, no
# eval, no framing, forms post back here. The admin and the RQ dashboard (staff only) carry Django's
# and django-rq's own inline scripts and styles, so paths under CSP_STAFF_PATH_PREFIXES allow them.
_CSP_BASE = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
CSP_POLICY = _CSP_BASE
CSP_STAFF_POLICY = {
    **_CSP_BASE,
    "script-src": ["'self'", "'unsafe-inline'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
}
CSP_STAFF_PATH_PREFIXES = ["/admin/"]
# The door page (booking.door_views, staff on a phone) keeps the fans' strict policy and adds one source: its
# QR scanner (static/vendor/qr-scanner) decodes camera frames in a Web Worker it starts from a blob: URL made
# from its own code. Only a script already allowed by script-src 'self' can make such a URL, so this lets no
# injected code run; it is sent on that page only.
CSP_DOOR_POLICY = {**_CSP_BASE, "worker-src": ["'self'", "blob:"]}
CSP_REPORT_ONLY: bool = env.bool("CSP_REPORT_ONLY", default=False)

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND: str = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL: str = env("DEFAULT_FROM_EMAIL", default="Frontrow <tickets@frontrow.local>")


def checked_site_url(value: str) -> str:
    """SITE_URL as the links in e-mails use it: http(s)://host[:port], no path, no trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") or parts.query:
        raise ImproperlyConfigured(f"SITE_URL must be the site's address, like https://tickets.example.com: {value!r}")
    return f"{parts.scheme}://{parts.netloc}"


# The site's own address, for the links in e-mails: they are written by a worker with no request to take the host
# from (the confirmation e-mail links each seat to its ticket page). `make run` sets it to the address it serves.
SITE_URL: str = checked_site_url(env("SITE_URL", default="http://127.0.0.1:8000"))

# --- Domain rules (see DESIGN.md) -----------------------------------------------------------
SEATS_PER_DATE: int = env.int("SEATS_PER_DATE", default=50)
MAX_SEATS_PER_USER: int = env.int("MAX_SEATS_PER_USER", default=4)
HOLD_SECONDS: int = env.int("HOLD_SECONDS", default=300)
# A seat offered from a sold-out date's waiting list is held for the fan this long (booking.services.waitlist).
OFFER_SECONDS: int = env.int("OFFER_SECONDS", default=600)
ACTIVE_SECONDS: int = env.int("ACTIVE_SECONDS", default=600)
CANCEL_CUTOFF_HOURS: int = env.int("CANCEL_CUTOFF_HOURS", default=24)
MIN_CHARGE: int = env.int("MIN_CHARGE", default=1_000)
MAX_CHARGE: int = env.int("MAX_CHARGE", default=1_000_000)
MAX_BALANCE: int = env.int("MAX_BALANCE", default=10_000_000)
DEFAULT_SEAT_PRICE: int = env.int("DEFAULT_SEAT_PRICE", default=99_000)
# How long the concert page's list of dates with seats left is shared between fans (0: never cached).
CONCERT_PAGE_CACHE_SECONDS: int = env.int("CONCERT_PAGE_CACHE_SECONDS", default=2)
# The longest a date's rendered seat grid is shared between fans (0: never cached). Every change of a seat
# replaces the date's seat version, which drops it at once (booking.seat_map_cache); this only bounds how long
# a grid could outlive a version change the cache failed to record.
SEAT_MAP_CACHE_SECONDS: int = env.int("SEAT_MAP_CACHE_SECONDS", default=10)
# How often an open seat map asks which of its seats were taken meanwhile (static/js/seat-map.js; a 304 while
# nothing changed). RATE_LIMIT_SEAT_STATE must leave room for it: two tabs at 5 s are 24 polls a minute.
SEAT_MAP_POLL_SECONDS: int = env.int("SEAT_MAP_POLL_SECONDS", default=5)
if SEAT_MAP_POLL_SECONDS < 1:
    raise ImproperlyConfigured("SEAT_MAP_POLL_SECONDS is a whole number of seconds, 1 or more (e.g. 5).")
# Fans may enter a concert's pre-queue this many minutes before its sale opens (staff may set another time
# per concert); everyone in it when the sale opens gets a place by a verifiable random draw.
PREQUEUE_MINUTES: int = env.int("PREQUEUE_MINUTES", default=30)
# Most live places (waiting or admitted) one client address may hold in one concert's queue: generous, since
# a campus or a mobile carrier puts many fans behind one address.
QUEUE_MAX_PLACES_PER_IP: int = env.int("QUEUE_MAX_PLACES_PER_IP", default=200)
# The proof-of-work challenge at queue entry (ALTCHA, queueing/services/challenges.py): whether a new waiting
# room asks for it (staff switch it per concert; the test settings make it off unless a test turns it on), the
# default difficulty of a new room, how long a challenge may be solved and used, and the key challenges are
# signed with (by default derived from SECRET_KEY, so it changes with it; set it to keep challenges valid
# across a SECRET_KEY rotation, or to share it between sites).
QUEUE_CHALLENGE_DEFAULT: bool = env.bool("QUEUE_CHALLENGE_DEFAULT", default=True)
ALTCHA_MAX_NUMBER: int = env.int("ALTCHA_MAX_NUMBER", default=100_000)
ALTCHA_EXPIRES_SECONDS: int = env.int("ALTCHA_EXPIRES_SECONDS", default=600)
ALTCHA_HMAC_KEY: str = (
    env("ALTCHA_HMAC_KEY", default="")
    or hmac.new(SECRET_KEY.encode(), b"frontrow queue entry challenge (ALTCHA)", hashlib.sha256).hexdigest()
)
QUEUE_BACKEND: str = env("QUEUE_BACKEND", default="database")  # "database" or "redis"
QUEUE_DEFAULT_MAX_ACTIVE: int = env.int("QUEUE_DEFAULT_MAX_ACTIVE", default=100)
QUEUE_ADMIT_BATCH_SIZE: int = env.int("QUEUE_ADMIT_BATCH_SIZE", default=500)  # most fans admitted per concert per run
# A new waiting room's admission rate: at most this many fans let in per minute (staff set it per room). Admitted
# fans book at once, so the rate is what the booking tier can take without queueing: an admitted fan's pages,
# hold and payment cost ~83 ms of web CPU (docs/CAPACITY.md), so two cores book ~24 fans a second; 1,200 a
# minute (20 a second) leaves a sixth of them for the polls. Admission runs (every ADMIT_QUEUE_EVERY_SECONDS)
# let in at most one interval's worth at a time, so the first max_active fans after the opening arrive over
# seconds (100 in 5 s), not in one burst. Set it to the booking tier's throughput: cores x 2/3 / 83 ms x 60.
QUEUE_ADMIT_PER_MINUTE: int = env.int("QUEUE_ADMIT_PER_MINUTE", default=1_200)
if QUEUE_ADMIT_PER_MINUTE < 1:
    raise ImproperlyConfigured("QUEUE_ADMIT_PER_MINUTE is a whole number of fans a minute, 1 or more (e.g. 1200).")
QUEUE_REDIS_PREFIX: str = env("QUEUE_REDIS_PREFIX", default="frontrow:queue")  # every Redis queue key starts with it
# The Redis queue backend's server: empty means REDIS_URL's (read when the backend is built). With
# QUEUE_REDIS_CLUSTER=true it is one node of a Redis Cluster (redis://host:port, database 0), from which the
# client learns the others; each concert's keys share a hash tag, so they live on one shard.
QUEUE_REDIS_URL: str = env("QUEUE_REDIS_URL", default="")
QUEUE_REDIS_CLUSTER: bool = env.bool("QUEUE_REDIS_CLUSTER", default=False)
# The status poll's fast path (Redis backend): the signed queue pass the waiting page's polls carry instead of
# loading the session and the user (queueing/passes.py), how long one lasts before a poll goes the full way and
# gets a new one, and how long the Redis copy of a room's settings and admission figures lasts
# (queueing/services/_mirror.py: dropped when the room or its concert is saved, and again on commit).
QUEUE_PASS_COOKIE_NAME: str = env("QUEUE_PASS_COOKIE_NAME", default="queue_pass")
QUEUE_PASS_SECONDS: int = env.int("QUEUE_PASS_SECONDS", default=300)
QUEUE_ROOM_MIRROR_SECONDS: float = env.float("QUEUE_ROOM_MIRROR_SECONDS", default=3.0)
# The status polls a second the opening may bring: the pre-queue's fans learn their drawn places from polls
# spread over (entrants / this) seconds after the opening, 12 s at least and 120 s at most
# (queueing/services/polling.py). 150 a second is a fifth of what one 2-CPU machine answers.
QUEUE_OPENING_POLLS_PER_SECOND: float = env.float("QUEUE_OPENING_POLLS_PER_SECOND", default=150.0)
if not QUEUE_OPENING_POLLS_PER_SECOND > 0:
    raise ImproperlyConfigured("QUEUE_OPENING_POLLS_PER_SECOND is a number of polls a second above 0 (e.g. 150).")

# --- Rate limits (config/ratelimit.py) --------------------------------------------------------
# Per action: the most requests one account and one client address may make in `seconds` (0: no limit on
# that key), from RATE_LIMIT_<ACTION>="account,ip,seconds". A fan using the pages (the waiting room's poll
# every 3 s, reloads, two tabs) stays far below; an address is shared by many fans behind one NAT (an
# office, a campus, a mobile carrier), so its limits are many times an account's.
RATE_LIMITS_ENABLED: bool = env.bool("RATE_LIMITS_ENABLED", default=True)
RATE_LIMIT_DEFAULTS: dict[str, tuple[int, int, int]] = {
    "login": (10, 100, 60),  # account: the e-mail typed in from this address (not alone: no lock-out by others)
    # Staff's second-factor codes (the verify and enrolment pages' POST), per logged-in account and per address.
    "two_factor": (10, 100, 60),
    "signup": (0, 60, 600),
    # Password-reset e-mails asked for: per e-mail address typed from one address, and per address, per hour.
    "password_reset": (5, 50, 3600),
    # Password-reset e-mails one account gets per hour, whoever asks from wherever (counted by the mail's job:
    # the request answers the same either way, so the cap tells nobody whether an account exists; ip unused).
    "password_reset_mail": (3, 0, 3600),
    # New e-mail verification links asked for (the fan is logged in), per hour.
    "verification_email": (5, 50, 3600),
    # Changes of e-mail address or password (each checks the current password), per hour.
    "account_change": (10, 100, 3600),
    "queue_join": (30, 600, 60),
    "queue_status": (120, 3000, 60),
    "seat_map": (60, 1200, 60),
    # The open seat map's poll of its seats' state, every 5 s while the page is shown: two tabs stay far below.
    "seat_state": (60, 3000, 60),
    "hold": (30, 600, 60),
    "pay": (20, 400, 60),
    "top_up": (10, 200, 60),
    # Joining a sold-out date's waiting list (its POST only; leaving is never limited): a fan joins a date once,
    # a few tries a minute is plenty; the address's limit leaves room for many fans behind one NAT.
    "waitlist_join": (10, 200, 60),
    # Presale codes typed in (each try, right or wrong), per 10 minutes: a fan mistyping a code a few times stays
    # far below; guessing codes takes millions of tries (concerts.presale_codes).
    "presale_code": (10, 200, 600),
    # The draw's public page and download: per address only (anonymous pages; no session read, so the download
    # is one answer for every cache); a reader paging through 100,000 places or a checker stays far below.
    "draw": (0, 300, 60),
    # The JSON API's reads (booking/api/): each request that no action above counts. A script polling every second stays
    # below; a scraper does not.
    "api_read": (120, 2400, 60),
}
RATE_LIMITS: dict[str, dict[str, int]] = {}
for _action, _default in RATE_LIMIT_DEFAULTS.items():
    _given = env.list(f"RATE_LIMIT_{_action.upper()}", default=[str(n) for n in _default])
    try:
        _values = [int(value) for value in _given]
    except ValueError:
        _values = []
    if len(_values) != 3 or min(_values) < 0 or _values[2] < 1:
        raise ImproperlyConfigured(
            f"RATE_LIMIT_{_action.upper()} is three whole numbers, account,ip,seconds (e.g. "
            f"{','.join(map(str, _default))}): limits of 0 (none) or more, a window of at least 1 second."
        )
    RATE_LIMITS[_action] = dict(zip(("account", "ip", "seconds"), _values, strict=True))
# Client addresses (CIDR) never limited nor counted: a monitoring probe, or a load test's yardstick
# (bench/rush exempts 198.18.0.0/15, the benchmarking range, and sends its fans from elsewhere).
RATE_LIMIT_EXEMPT_NETWORKS: list[str] = env.list("RATE_LIMIT_EXEMPT_NETWORKS", default=[])
for _network in RATE_LIMIT_EXEMPT_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"RATE_LIMIT_EXEMPT_NETWORKS: {_network!r} is not an address or network") from _exc
RATE_LIMIT_REDIS_PREFIX: str = env("RATE_LIMIT_REDIS_PREFIX", default="frontrow:ratelimit")

# --- Background work ------------------------------------------------------------------------
CELERY_BROKER_URL: str = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER: bool = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TIMEZONE = TIME_ZONE
EXPIRE_HOLDS_EVERY_SECONDS: float = env.float("EXPIRE_HOLDS_EVERY_SECONDS", default=5.0)
ADMIT_QUEUE_EVERY_SECONDS: float = env.float("ADMIT_QUEUE_EVERY_SECONDS", default=2.0)
# A confirmation e-mail still owed this long after its payment (its enqueue failed) is queued by the sweep.
CONFIRMATION_OWED_AFTER_SECONDS: int = env.int("CONFIRMATION_OWED_AFTER_SECONDS", default=15)
SEND_OWED_CONFIRMATIONS_EVERY_SECONDS: float = env.float("SEND_OWED_CONFIRMATIONS_EVERY_SECONDS", default=30.0)
# The waiting lists' sweep: offers whose outcome is known are closed, returned seats offered, owed offer mails sent
# (each is also done at once by an RQ job queued when a seat comes back; this catches what that missed).
OFFER_RETURNED_SEATS_EVERY_SECONDS: float = env.float("OFFER_RETURNED_SEATS_EVERY_SECONDS", default=30.0)
# Every entry expires after about one interval: a run not started by then is stale (the next one does
# the same work), so runs sent while the worker is down do not pile up and all run at its restart.
CELERY_BEAT_SCHEDULE = {
    "expire-holds": {
        "task": "booking.tasks.expire_holds",
        "schedule": EXPIRE_HOLDS_EVERY_SECONDS,
        "options": {"expires": EXPIRE_HOLDS_EVERY_SECONDS},
    },
    "send-owed-confirmations": {
        "task": "booking.tasks.send_owed_confirmations",
        "schedule": SEND_OWED_CONFIRMATIONS_EVERY_SECONDS,
        "options": {"expires": SEND_OWED_CONFIRMATIONS_EVERY_SECONDS},
    },
    "offer-returned-seats": {
        "task": "booking.tasks.offer_returned_seats",
        "schedule": OFFER_RETURNED_SEATS_EVERY_SECONDS,
        "options": {"expires": OFFER_RETURNED_SEATS_EVERY_SECONDS},
    },
    "admit-queue-batches": {
        "task": "queueing.tasks.admit_queue_batches",
        "schedule": ADMIT_QUEUE_EVERY_SECONDS,
        "options": {"expires": ADMIT_QUEUE_EVERY_SECONDS},
    },
}

# django-rq: without Redis the jobs run synchronously in the request (embedded default).
RQ_QUEUES: dict[str, dict[str, Any]] = {
    "default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 600},
}
# `manage.py rqworker` runs the jobs in its own process, not a fork per job (config/rqworker.py says why).
RQ = {"WORKER_CLASS": "config.rqworker.JobWorker"}
RQ_ASYNC: bool = env.bool("RQ_ASYNC", default=bool(REDIS_URL))
if not RQ_ASYNC:
    RQ_QUEUES["default"]["ASYNC"] = False

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
