"""The Celery app: broker from settings (Redis on the full stack), tasks discovered per app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("frontrow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
