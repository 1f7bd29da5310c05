"""Training settings are typed: every recipe value and override is converted to its setting's type or refused in one
line; and every training command the README, ``train --help`` and the recipes print runs as printed (tiny data)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import torch

from hrnet_studio.errors import StudioError
from hrnet_studio.training.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]


def test_overrides_take_their_settings_types():
    recipe = load_recipe(ROOT / "training" / "finetune_quick.yaml",
                         ["optim.lr=1e-4", "epochs=20", "flip_test=no", "optim.milestones=5,8",
                          "model.input_size=[96, 128]", "register_as=2024", "data.train_images=001",
                          "augment.scale_factor=1", "optim.weight_decay=1E-5"])
    assert recipe.optim.lr == 1e-4 and isinstance(recipe.optim.lr, float)
    assert recipe.epochs == 20 and recipe.flip_test is False and recipe.optim.milestones == [5, 8]
    assert recipe.model.input_size == [96, 128] and recipe.register_as == "2024"
    assert recipe.data.train_images == "001" and recipe.augment.scale_factor == 1.0
    assert recipe.optim.weight_decay == 1e-5


def test_recipe_files_are_typed_too(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\noptim:\n  lr: 1e-4\n  milestones: [3, 4]\nepochs: 3\namp: off\n")
    recipe = load_recipe(path)
    assert (recipe.optim.lr, recipe.optim.milestones, recipe.epochs, recipe.amp) == (1e-4, [3, 4], 3, False)
    path.write_text("epochs: three\n")
    with pytest.raises(StudioError, match=r"^epochs='three' is not an integer$"):
        load_recipe(path)


@pytest.mark.parametrize("override, message", [
    ("optim.lr=fast", r"^optim.lr='fast' is not a number$"),
    ("epochs=2.5", r"^epochs=2.5 is not an integer$"),
    ("flip_test=maybe", r"^flip_test='maybe' is not true or false$"),
    ("model.input_size=[96, x]", r"^model.input_size=\[96, 'x'\] is not a list of integers, e.g. \[170, 200\]$"),
    ("optim.lrr=1", r"^recipe: unknown setting optim.lrr: did you mean optim.lr\?$"),
    ("lr=1e-4", r"^recipe: unknown setting lr: did you mean optim.lr\?$"),
    ("optimizer.lr=1", r"^override: unknown setting optimizer.lr: did you mean optim.lr\?$"),
    ("model.arch.depth=3", r"^override: unknown setting model.arch.depth"),
    ("optim=1", r"^recipe: optim is a section: give its settings as optim.NAME=VALUE$"),
])
def test_a_wrong_override_is_refused_in_one_line_naming_key_value_and_type(override, message):
    with pytest.raises(StudioError, match=message):
        load_recipe(None, [override])


def printed_commands() -> list[str]:
    """Every ``hrnet-studio train`` command printed in README.md, the guide's training page (docs/training.md), in
    ``train --help`` and in the recipes' headers, as one line each (continuations joined)."""
    texts = [(ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "docs/training.md")]
    texts += [p.read_text(encoding="utf-8").replace("\n#  ", "\n ").replace("\n# ", "\n")
                          for p in sorted((ROOT / "training").glob("*.yaml"))]
    from hrnet_studio.cli.main import build_parser

    train_help = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    texts.append(re.sub(r"\s+", " ", train_help).replace("(e.g. ", "\nhrnet-studio train RECIPE.yaml "))
    commands = []
    for text in texts:
        text = text.replace("\\\n", " ")
        commands += [" ".join(m.split()) for m in re.findall(r"hrnet-studio train (?!\[-h\])[^\n`)]*", text)]
    return commands


def test_the_printed_commands_are_found():
    commands = printed_commands()
    assert any("optim.lr=1e-4" in c for c in commands)  # README's and --help's spelling
    assert sum("training/" in c for c in commands) >= 5  # the guide and the four recipes


@pytest.fixture(scope="module")
def tiny(assets, tmp_path_factory):
    """Tiny data for each format, and a W8 base for commands that start from an installed model."""
    folder = tmp_path_factory.mktemp("tiny")
    from hrnet_studio.models.hrnet import build_hrnet

    base = folder / "base_w8.pth"
    torch.save(build_hrnet("hrnet_w8", 17).state_dict(), base)
    coco, mpii = assets / "data" / "coco_sample", assets / "data" / "mpii_sample"
    return {"coco": {"annotations": coco / "annotations" / "test_coco.json", "images": coco / "images"},
            "mpii": {"annotations": mpii / "annotations" / "test_mpii.json", "images": mpii / "images"},
            "base": base}


def runnable(command: str, tiny: dict, out: Path) -> list[str]:
    """The command as the user would fill it in: placeholders (``...``, ``RECIPE.yaml``, ``NAME``) become tiny data,
    optional ``[…]`` parts are taken, and settings that make it tiny and fast come last."""
    words = shlex.split(command.replace("[", " ").replace("]", " "))[2:]
    words = [w for w in words if w not in ("...", "--resume")]
    recipe = ROOT / (words[0] if words[0].startswith("training/") else "training/finetune_quick.yaml")
    if "runs/NAME" in words[0]:
        recipe = ROOT / "training" / "finetune_quick.yaml"
    data = tiny[load_recipe(recipe).data.format]
    args = [str(recipe)]
    for word in words[1:]:
        key, _, value = word.partition("=")
        if key.startswith("data."):
            value = str(data["annotations" if key.endswith("annotations") else "images"])
        if key == "model.base":
            value = str(tiny["base"])
        args.append(f"{key}={value}")
    return args + [f"model.base={tiny['base']}", "model.arch=hrnet_w8", "model.input_size=[96,128]", "epochs=1",
                   "batch_size=4", "max_train_batches=1", "workers=0", "device=cpu", f"output={out}",
                   "flip_test=false", "register_as=", f"data.train_annotations={data['annotations']}",
                   f"data.train_images={data['images']}"]


def test_every_printed_training_command_runs(capsys, tiny, tmp_path, models_home):
    from hrnet_studio.cli.main import main

    ran = set()
    for i, command in enumerate(printed_commands()):
        args = runnable(command, tiny, tmp_path / str(i))
        same = tuple(a for a in args if not a.startswith("output="))
        if same in ran:  # the same command but for where it writes (e.g. with and without --resume)
            continue
        ran.add(same)
        if "optim.lr=1e-4" in command:
            assert load_recipe(args[0], args[1:]).optim.lr == 1e-4
        code = main(["train", *args])
        err = capsys.readouterr().err
        assert code == 0, f"{command}\n{err}"
        assert "unexpected" not in err and "registered as" in err, command
