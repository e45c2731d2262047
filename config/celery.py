"""The Celery app: broker from settings (Redis on the full stack), tasks discovered per app."""

import os

from celery import Celery

# Fail closed: a server or worker started without DJANGO_SETTINGS_MODULE runs the production settings,
# which refuse to start without SECRET_KEY, DATABASE_URL, REDIS_URL and ALLOWED_HOSTS (never DEBUG).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_production")

app = Celery("frontrow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
