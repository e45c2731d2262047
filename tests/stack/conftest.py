"""Helpers for the full-stack tests: production settings in subprocesses, real gunicorn instances.

Everything here runs the production settings in separate processes with a clean environment, so the
test settings (and whatever the developer exported) cannot leak in. The gunicorn instances serve the
pytest-django test database and the test Redis, so `django_db(transaction=True)` tests can create rows
the instances see.
"""

import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PRODUCTION_SETTINGS = "config.settings_production"
REQUIRED_VARIABLES = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS")


def database_url(name=None):
    """A postgres:// URL for the database the tests use (the test database once it exists)."""
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{name or db['NAME']}"


def production_env(tmp_path, **overrides):
    """A minimal environment that satisfies the production settings; overrides set or (None) remove."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DJANGO_SETTINGS_MODULE": PRODUCTION_SETTINGS,
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
        # Every run gets its own cache and queue namespace, so nothing from an earlier run answers.
        "CACHE_KEY_PREFIX": f"stacktest-{uuid.uuid4().hex[:12]}",
        "QUEUE_REDIS_PREFIX": f"stacktest-{uuid.uuid4().hex[:12]}:queue",
        "EMAIL_URL": "dummymail://",
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_manage(args, env, timeout=120):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


def dotenv_defines(*names):
    """True when the project's .env sets one of these names (then 'missing variable' cannot be tested)."""
    dotenv = BASE_DIR / ".env"
    if not dotenv.exists():
        return False
    keys = {line.split("=", 1)[0].strip() for line in dotenv.read_text().splitlines() if "=" in line}
    return bool(keys & set(names))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebInstance:
    """One gunicorn process serving config.wsgi with the production settings on its own port."""

    def __init__(self, env, log_dir, name):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout_path = log_dir / f"{name}.out.log"
        self.stderr_path = log_dir / f"{name}.err.log"
        env = {**env, "PORT": str(self.port), "WEB_WORKERS": "1", "WEB_THREADS": "4", "DB_POOL_MAX_SIZE": "4"}
        self._stdout = self.stdout_path.open("w")
        self._stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=BASE_DIR,
            env=env,
            stdout=self._stdout,
            stderr=self._stderr,
        )

    def wait_ready(self, path="/healthz/", timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.stderr_path.read_text()}")
            try:
                if httpx.get(f"{self.url}{path}", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn on {self.port} did not answer:\n{self.stderr_path.read_text()}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stdout.close()
        self._stderr.close()


@pytest.fixture(scope="session")
def stack_env(django_db_setup, tmp_path_factory):
    """Production environment pointing at the test database, with collectstatic already run."""
    tmp_path = tmp_path_factory.mktemp("stack")
    env = production_env(tmp_path, ALLOW_PLAIN_HTTP="true")
    completed = run_manage(["collectstatic", "--noinput", "--verbosity", "0"], env)
    assert completed.returncode == 0, completed.stderr
    return env


@pytest.fixture(scope="session")
def two_instances(stack_env, tmp_path_factory):
    """Two web instances, A and B, on two ports: the same code and settings, nothing shared in memory."""
    log_dir = tmp_path_factory.mktemp("gunicorn-logs")
    instances = [WebInstance(stack_env, log_dir, name) for name in ("a", "b")]
    try:
        for instance in instances:
            instance.wait_ready()
        yield instances
    finally:
        for instance in instances:
            instance.stop()
