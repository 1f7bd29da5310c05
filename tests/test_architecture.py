"""The layout holds: packages import only those below them, no package's modules import each other in a circle
(import-linter contracts in pyproject.toml), and no module grows past 400 lines."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())"]


def lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"}
    return subprocess.run([*LINT, str(cwd / "pyproject.toml"), "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_layers_and_no_circles():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_build(tmp_path):
    """The contracts bite: a copy of the package where models/ imports the GUI, and one with a circle in export/."""
    shutil.copytree(ROOT / "hrnet_studio", tmp_path / "hrnet_studio",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    zoo = tmp_path / "hrnet_studio" / "models" / "zoo.py"
    zoo.write_text(zoo.read_text() + "\n\ndef _upward():\n    from ..gui import app  # noqa\n")
    table = tmp_path / "hrnet_studio" / "export" / "table.py"
    table.write_text(table.read_text() + "\n\ndef _circle():\n    from . import job  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "hrnet_studio.models.zoo -> hrnet_studio.gui.app" in result.stdout
    assert ".table -> .job" in result.stdout or ".job -> .table" in result.stdout
    assert "0 kept, 2 broken" in result.stdout


def test_no_module_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in [*ROOT.glob("hrnet_studio/**/*.py"), *ROOT.glob("tests/**/*.py")]
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, f"split these by feature: {long}"
