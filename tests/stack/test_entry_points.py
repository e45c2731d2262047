"""Which settings each entry point loads when nothing says which: it fails closed.

gunicorn (config.wsgi), an ASGI server (config.asgi) and Celery (config.celery) default to the production
settings, which refuse to start without SECRET_KEY and the rest. manage.py keeps the development default
so `make run` works on a fresh machine, but the development settings refuse their built-in key anywhere
but DEBUG on this machine: nobody can serve real traffic signed with the key that is in the repository
(sessions, e-ticket codes). Each case runs in a fresh interpreter with a clean environment.
"""

import json
import subprocess
import sys

import pytest

from .conftest import BASE_DIR, production_env

LOAD = """
import json, sys, importlib
importlib.import_module(sys.argv[1])
from django.conf import settings as s
if sys.argv[1] == "config.celery":
    from config.celery import app
    app.conf.broker_url  # Celery reads Django's settings lazily: make it read them
import django
django.setup()
dev_key = s.SECRET_KEY.startswith("django-insecure-")
print(json.dumps({"module": s.SETTINGS_MODULE, "DEBUG": s.DEBUG, "dev_key": dev_key}))
"""


def bare_env(tmp_path, **extra):
    """Nothing configured: no DJANGO_SETTINGS_MODULE, no SECRET_KEY, no .env values beyond the project's."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    env.update(extra)
    return env


def load(module, env):
    return subprocess.run(
        [sys.executable, "-c", LOAD, module], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery"])
def test_servers_and_workers_default_to_production_and_refuse_to_start_without_a_secret_key(tmp_path, module):
    completed = load(module, bare_env(tmp_path))

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert "SECRET_KEY" in completed.stderr


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery"])
def test_servers_and_workers_given_the_production_environment_run_production_settings(tmp_path, module):
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE=None)

    completed = load(module, env)

    assert completed.returncode == 0, completed.stderr[-2000:]
    loaded = json.loads(completed.stdout.strip().splitlines()[-1])
    assert loaded == {"module": "config.settings_production", "DEBUG": False, "dev_key": False}


def run_manage(args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_manage_py_on_a_fresh_machine_runs_the_local_development_settings(tmp_path):
    env = bare_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    script = "from django.conf import settings as s; print(s.SETTINGS_MODULE, s.DEBUG)"
    completed = run_manage(["shell", "-c", script], env)

    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split()[-2:] == ["config.settings", "True"]


@pytest.mark.parametrize(
    "setting",
    [
        {"DEBUG": "false"},
        {"ALLOWED_HOSTS": "tickets.example.com"},
        {"ALLOWED_HOSTS": "*"},
        {"ALLOWED_HOSTS": "localhost,10.0.0.5"},
    ],
)
def test_the_development_settings_refuse_their_built_in_key_beyond_debug_on_this_machine(tmp_path, setting):
    env = bare_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **setting)

    refused = run_manage(["check"], env)
    with_a_key = run_manage(["check"], {**env, "SECRET_KEY": "a-real-random-key-" + "x" * 40})

    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "SECRET_KEY" in refused.stderr
    assert with_a_key.returncode == 0, with_a_key.stderr[-2000:]


def test_the_procfile_runs_every_process_with_the_production_settings_unless_told_otherwise():
    lines = [line for line in (BASE_DIR / "Procfile").read_text().splitlines() if line and line[0] != "#"]

    for line in lines:
        name, command = line.split(":", 1)
        if "manage.py" in command:
            assert "DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings_production}" in command, name
