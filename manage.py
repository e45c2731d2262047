#!/usr/bin/env python
"""Django's command-line utility for Frontrow."""

import os
import sys


def main():
    # The development settings, so `make run` works with nothing configured; they refuse their built-in
    # SECRET_KEY unless DEBUG is on and ALLOWED_HOSTS is this machine (config/settings.py). Servers and
    # workers (config.wsgi, config.asgi, config.celery) default to config.settings_production instead.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
