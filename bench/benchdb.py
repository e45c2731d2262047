"""Shared set-up of the in-process benchmarks: a PostgreSQL database of their own, migrated, and Django."""

import os


def setup_django(*, pg_server: str, database: str, redis_url: str, **env: str) -> None:
    """Point Django at `database` on `pg_server` (created if missing) and Redis at `redis_url`, apply the
    extra environment `env`, start Django and migrate. Never touches the dev or test databases."""
    os.environ.update(
        {
            "DATABASE_URL": f"{pg_server}/{database}",
            "REDIS_URL": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **env,
        }
    )
    import psycopg

    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            conn.execute(f'CREATE DATABASE "{database}"')

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    assert settings.DATABASES["default"]["NAME"] == database, "refusing to run against another database"
    call_command("migrate", verbosity=0, interactive=False)
