"""The embedded default works with nothing but Python: SQLite, no Redis, demo data, pages that answer.

Runs the same steps as `make run` in subprocesses with a clean environment, against a temporary SQLite
file, so nothing from the test settings (PostgreSQL, Redis) leaks in.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

CLIENT_SCRIPT = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client

client = Client()
result = {
    "engine": settings.DATABASES["default"]["ENGINE"],
    "redis_url": settings.REDIS_URL,
    "queue_backend": settings.QUEUE_BACKEND,
    "home": client.get("/").status_code,
    "admin_login": client.get("/admin/login/").status_code,
    "healthz": client.get("/healthz/").status_code,
}
response = client.post(
    "/admin/login/?next=/admin/",
    {"username": "staff@frontrow.local", "password": "frontrow-staff"},
    follow=True,
)
result["second_factor_path"] = response.request["PATH_INFO"]
# The demo staff's second factor, as the README says: the code `manage.py demo_two_factor_code` prints.
import io
from django.core.management import call_command
code = io.StringIO()
call_command("demo_two_factor_code", stdout=code, stderr=io.StringIO())
response = client.post("/accounts/two-factor/", {"code": code.getvalue().strip(), "next": "/admin/"}, follow=True)
result["admin_index"] = response.status_code
result["admin_index_path"] = response.request["PATH_INFO"]
result["on_sale"] = "Neon Harbor" in client.get("/").content.decode()

# Staff pages and a job (the CSV export) work without Redis: the job runs at once, in the request.
from concerts.models import ConcertDate, DateExport
date = ConcertDate.objects.order_by("concert_date").first()
result["dashboard"] = client.get("/admin/concerts/salesdashboard/").status_code
result["date_page"] = client.get(f"/admin/concerts/concertdate/{date.pk}/change/").status_code
client.post("/admin/concerts/concertdate/", {"action": "export_csv", "_selected_action": [str(date.pk)], "index": "0"})
result["export"] = DateExport.objects.get(concert_date=date).status
print(json.dumps(result))
"""


def _run(args, env, cwd=BASE_DIR):
    completed = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, f"{args} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


@pytest.mark.slow
def test_migrate_seed_and_serve_on_sqlite_without_redis(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    _run(["manage.py", "migrate", "--noinput"], env)
    _run(["manage.py", "createcachetable"], env)  # as `make run` does: the seed's holds bump seat versions in it
    first = _run(["manage.py", "seed_demo"], env)
    second = _run(["manage.py", "seed_demo"], env)  # idempotent: no duplicates, no error
    assert "Created concert" in first
    assert "Created" not in second and "Topped up" not in second
    assert "FRONTROWDEMOSTAFFTOTPSECRETKEY23" in first  # the demo staff's authenticator key, printed
    _run(["manage.py", "check"], env)

    result = json.loads(_run(["-c", CLIENT_SCRIPT], env).strip().splitlines()[-1])
    assert result["engine"] == "django.db.backends.sqlite3"
    assert result["redis_url"] == ""
    assert result["queue_backend"] == "database"
    assert result["home"] == 200
    assert result["admin_login"] == 200
    assert result["healthz"] == 200
    assert result["second_factor_path"] == "/accounts/two-factor/"
    assert result["admin_index"] == 200 and result["admin_index_path"] == "/admin/"
    assert result["on_sale"]
    assert result["dashboard"] == 200 and result["date_page"] == 200
    assert result["export"] == "READY"
