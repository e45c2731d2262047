"""The import contracts of pyproject.toml ([tool.importlinter]: each app imports only the layers below it) hold,
so `pytest` alone catches an import against the layers, as `make lint` does."""

import subprocess
import sys
from pathlib import Path

from django.conf import settings


def test_every_app_imports_only_the_layers_below_it():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [lint_imports, "--no-cache", "--no-logo"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
