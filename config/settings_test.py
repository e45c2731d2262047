"""Test settings: the real PostgreSQL and Redis on this machine unless the environment says otherwise."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("TEST_DATABASE_NAME", "test_frontrow")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("RQ_ASYNC", "false")
# Django's test client logs in without a request, which django-axes refuses; tests/security turns it on.
os.environ.setdefault("AXES_ENABLED", "false")
# Tests read seat counts right after changing them; tests/concerts/test_views_concerts.py turns the short
# page cache on where tested.
os.environ.setdefault("CONCERT_PAGE_CACHE_SECONDS", "0")
# Most tests join the waiting room through the pages without a browser to solve the entry challenge; the
# challenge tests (tests/queueing/test_*challenge*.py) and the browser tests turn it on per room.
os.environ.setdefault("QUEUE_CHALLENGE_DEFAULT", "false")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; production uses Argon2
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
