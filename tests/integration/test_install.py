"""A non-editable install runs on its own: bare `leadwright` finds its samples as package data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT


@pytest.mark.slow
def test_bare_leadwright_runs_from_a_wheel_away_from_the_checkout(tmp_path: Path) -> None:
    """The wheel, installed alone, runs the sample leads and names itself "leadwright"."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheels, target, cwd = tmp_path / "wheels", tmp_path / "site", tmp_path / "cwd"
    cwd.mkdir()
    build = ["wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), str(ROOT)]
    subprocess.run([*pip, *build], check=True, capture_output=True, timeout=300)
    [wheel] = wheels.glob("leadwright-*.whl")
    install = ["install", "--no-deps", "--target", str(target), str(wheel)]
    subprocess.run([*pip, *install], check=True, capture_output=True, timeout=300)
    # The installed copy first on the path: the checkout's editable install comes after it.
    script = (
        f"import sys; sys.path.insert(0, {str(target)!r}); import run, supervision.system.samples; "
        f"assert run.__file__.startswith({str(target)!r}), run.__file__; "
        "sys.exit(run.script())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "Details: leadwright report --out runs/latest" in result.stdout
    assert (cwd / "runs" / "latest" / "crm.sqlite").is_file()
    assert (target / "supervision" / "system" / "samples" / "leads.csv").is_file()
    assert (target / "supervision" / "evaluation" / "templates" / "report.html").is_file()
