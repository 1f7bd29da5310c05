"""The guide: every command it shows parses as written, its pages link to pages that exist, and the architecture
page's layout is the code's (packages, what each holds, the layer order the import contracts enforce)."""
from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import tomllib

from hrnet_studio.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))


def shown_commands(text: str) -> list[str]:
    """``hrnet-studio …`` commands of a page: lines of its code blocks (continuations joined, comments dropped)
    and inline code spans."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            commands += [part.strip() for part in line.split("&&") if part.strip().startswith("hrnet-studio ")]
    # inline spans; a bare command name (`hrnet-studio export`) is a mention, not an example
    commands += [c for c in re.findall(r"`(hrnet-studio [^`]+)`", text) if "…" not in c and len(c.split()) > 2]
    return commands


# placeholders of numeric options, as a user fills them in
EXAMPLES = {"N": "2", "HZ": "6", "SECONDS": "0.1", "PIXELS": "640"}


def as_typed(command: str) -> list[str]:
    """A synopsis as a user fills it in: optional ``[…]`` parts taken, ``a|b`` alternatives as their first."""
    from hrnet_studio.cli.main import COMMANDS

    words = shlex.split(command.replace("[", " ").replace("]", " "))[1:]
    words = [EXAMPLES.get(w, w.split("|")[0]) for w in words if w not in ("...", "…")]
    return words if words[0] in COMMANDS else ["gui", *words]  # `hrnet-studio VIDEO` opens it in the app


def test_the_guide_has_one_page_per_task_and_a_short_readme():
    names = {p.stem for p in PAGES}
    assert {"index", "app", "review", "models", "exporting", "analysis", "batch", "training", "benchmarks",
            "troubleshooting", "architecture"} <= names
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    assert (ROOT / "docs" / "images" / "app.png").stat().st_size > 20_000  # the screenshot the README shows


@pytest.mark.parametrize("page", [ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_every_command_shown_parses(page):
    parser = build_parser()
    for command in shown_commands(page.read_text(encoding="utf-8")):
        try:
            parser.parse_args(as_typed(command))
        except SystemExit as exc:
            pytest.fail(f"{page.name}: `{command}` does not parse (exit {exc.code})")


def test_the_guide_is_checked_at_all():
    assert len([c for p in PAGES for c in shown_commands(p.read_text(encoding="utf-8"))]) >= 20
    with pytest.raises(SystemExit):
        build_parser().parse_args(as_typed("hrnet-studio export VIDEO --det-evry 5"))


@pytest.mark.parametrize("page", [ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_links_and_files_named_lead_somewhere(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith("http"):
            assert (page.parent / target).exists(), f"{page.name} links to {target}"
    for module in set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", text)):  # a module moved is a page to update
        assert (ROOT / module).exists() or (ROOT / "hrnet_studio" / module).exists(), f"{page.name} names {module}"


def layout_tree() -> str:
    """The package tree with the first sentence of each package's docstring, as docs/architecture.md shows it."""
    lines = []
    for init in sorted((ROOT / "hrnet_studio").rglob("__init__.py")):
        package = init.parent.relative_to(ROOT)
        doc = " ".join((ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or "").split())
        first = re.split(r"(?<=[.:;])\s", doc, maxsplit=1)[0].rstrip(".:;")
        lines.append(f"{'  ' * (len(package.parts) - 1)}{package.name}/".ljust(22) + f"  {first}")
    return "\n".join(lines)


def test_the_architecture_page_is_drawn_from_the_code():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert layout_tree() in page, "docs/architecture.md's layout is stale; it should read:\n" + layout_tree()
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = next(c for c in contract["contracts"] if c["type"] == "layers")["layers"]
    shown = re.search(r"Layers, top to bottom:\n\n(.*?)\n\n", page, re.S).group(1)
    assert [line.lstrip("- ").strip("`") for line in shown.splitlines()] == layers
    for module in set(re.findall(r"`((?:[a-z_]+/)+[a-z_]+\.py)`", page)):
        assert (ROOT / "hrnet_studio" / module).exists() or (ROOT / module).exists(), \
            f"docs/architecture.md names {module}, which is gone"
