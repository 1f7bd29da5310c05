"""README.md's two commands are what a newcomer types; CI must run exactly them, and they must be enough."""
import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> tuple[str, str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S).group(1)
    first, second = block.strip().splitlines()[:2]
    return first, second


def test_ci_installs_as_readme_line_1_and_runs_line_2_verbatim():
    first, second = readme_commands()
    install = re.sub(r"\s*&&\s*hrnet-studio\s*$", "", first)
    assert install != first, "README line 1 must install and then open the app"
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert install in ci_lines, f".ci/run does not install as README line 1 does ({install!r})"
    assert second in ci_lines, f".ci/run does not run README line 2 verbatim ({second!r})"
    assert ci_lines.index(install) < ci_lines.index(second)


def test_readme_line_1_installs_what_line_2_needs():
    first, second = readme_commands()
    extras = re.search(r"pip install -e \"?\.\[([\w,-]+)\]\"?", first)
    assert extras, "README line 1 must install the package with the extras the tests need"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    installed = " ".join(project["dependencies"])
    for extra in extras.group(1).split(","):
        installed += " " + " ".join(project["optional-dependencies"][extra])
    assert "python -m pytest" in second
    for needed in ("pytest", "pytest-qt"):  # the runner, and the GUI tests' qtbot
        assert re.search(rf"(^|\s|\"){re.escape(needed)}([<>=~! ]|$)", installed), f"line 1 does not install {needed}"
