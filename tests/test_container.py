"""The container image installs leadloop the way the README does, from the files it copies.

CI has no Docker engine, so this builds the image's build context by hand: only what the
Dockerfile COPYs, then the Dockerfile's own install step (`pip install .`, here as a wheel)
must give a package with everything the daemon reads at run time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def copied() -> list[str]:
    """The sources of the build stage's COPY lines."""
    build = DOCKERFILE.split("\nFROM ", 2)[1]
    return [
        source
        for line in build.splitlines()
        if line.startswith("COPY ") and "--from" not in line
        for source in line.split()[1:-1]
    ]


def test_the_image_copies_every_package_pyproject_installs() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r"include = \[([^\]]*)\]", pyproject)
    assert found is not None
    packages = {name.strip(' "*') for name in found.group(1).split(",")}
    assert packages <= set(copied())
    assert "pip install -q ." in DOCKERFILE
    assert "USER leadloop" in DOCKERFILE and "HEALTHCHECK" in DOCKERFILE


def test_the_package_built_from_the_image_context_has_its_run_time_files(
    tmp_path: Path,
) -> None:
    context = tmp_path / "context"
    context.mkdir()
    for source in copied():
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(path, context / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, context / source)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), "."],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("leadloop-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "sync/defaults/leadloop.yaml",
        "sync/mail/templates/alert.ja.txt.j2",
        "sync/mail/templates/alert.en.html.j2",
        "mappings/hubspot.yaml",
        "mappings/salesforce.yaml",
        "state/alembic.ini",
        "state/migrations/env.py",
        "state/migrations/versions/0002_change_tracking.py",
    ):
        assert needed in names, needed
