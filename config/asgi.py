"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

# Fail closed: a server or worker started without DJANGO_SETTINGS_MODULE runs the production settings,
# which refuse to start without SECRET_KEY, DATABASE_URL, REDIS_URL and ALLOWED_HOSTS (never DEBUG).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_production")
application = get_asgi_application()
