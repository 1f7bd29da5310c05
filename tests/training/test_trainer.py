"""A tiny real training run on the COCO sample: the loss falls, resume is exact, the model is registered."""
import json
from pathlib import Path as Path_

import pytest
import torch
from helpers import tiny_recipe

from hrnet_studio.models.registry import ModelRegistry
from hrnet_studio.training.recipe import load_recipe
from hrnet_studio.training.trainer import Trainer


def test_loss_falls_and_the_model_is_registered(assets, tmp_path, models_home):
    recipe = tiny_recipe(assets, tmp_path, epochs=6, register_as="tiny-coco", **{"model.encoding": "udp"})
    trainer = Trainer(recipe, registry=ModelRegistry(), say=lambda _: None, show_progress=False)
    result = trainer.run()
    events = [json.loads(line) for line in (tmp_path / "runs" / "tiny" / "events.jsonl").read_text().splitlines()]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5, 6]
    assert epochs[-1]["train_loss"] < 0.85 * epochs[0]["train_loss"]
    assert all("coco_ap" in e and "val_loss" in e for e in epochs)
    assert result.registered == "tiny-coco" and result.metric_name == "coco_ap"
    record = ModelRegistry().find("tiny-coco")
    assert record.usable and record.metadata.source == "fine-tune" and record.metadata.input_size == [96, 128]
    assert "coco_ap" in record.metadata.metrics
    assert record.metadata.encoding == "udp"  # inference decodes as the model was trained
    assert trainer.train_set.codec.udp and trainer.val_set.codec.udp


def test_resume_gives_the_same_state_as_an_uninterrupted_run(assets, tmp_path):
    straight = Trainer(tiny_recipe(assets, tmp_path / "a", epochs=2), say=lambda _: None, show_progress=False)
    straight.run()
    first = Trainer(tiny_recipe(assets, tmp_path / "b", epochs=2), say=lambda _: None, show_progress=False)
    assert first.run(stop_after=1).epochs_run == 1  # interrupted after the first epoch
    resumed = Trainer(tiny_recipe(assets, tmp_path / "b", epochs=2), say=lambda _: None, show_progress=False)
    resumed.run(resume=True)
    assert resumed.epoch == straight.epoch == 2
    for (k, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]


def test_fine_tune_to_a_new_keypoint_set_reinitialises_only_the_last_layer(assets, tmp_path, models_home):
    from hrnet_studio.models.hrnet import build_hrnet

    base = tmp_path / "mpii_w8.pth"
    torch.save(build_hrnet("hrnet_w8", 16).state_dict(), base)  # 16 joints; the COCO sample has 17
    said = []
    trainer = Trainer(tiny_recipe(assets, tmp_path, epochs=1, **{"model.base": base}), say=said.append,
                      show_progress=False)
    assert any("re-initialised final_layer.weight, final_layer.bias" in line for line in said)
    state = torch.load(base, weights_only=True)
    assert torch.equal(trainer.model.state_dict()["conv1.weight"], state["conv1.weight"])
    loaded = [json.loads(line) for line in (tmp_path / "runs" / "tiny" / "events.jsonl").read_text().splitlines()]
    assert loaded[0]["event"] == "loaded" and loaded[0]["reinitialised"] == ["final_layer.weight", "final_layer.bias"]


def test_recipe_errors_are_clear(tmp_path):
    from hrnet_studio.errors import StudioError

    with pytest.raises(StudioError, match="unknown setting optim.lrr: did you mean optim.lr"):
        load_recipe(None, ["optim.lrr=1"])
    with pytest.raises(StudioError, match="must look like section.key=value"):
        load_recipe(None, ["epochs"])
    bad = tmp_path / "r.yaml"
    bad.write_text("epochs: [1,\n")
    with pytest.raises(StudioError, match="r.yaml is not valid YAML"):
        load_recipe(bad)
    with pytest.raises(StudioError, match="unknown target encoding 'rounded': use official, unbiased, udp"):
        load_recipe(None, ["model.encoding=rounded"])
    with pytest.raises(StudioError, match="recipe not found"):
        load_recipe(tmp_path / "missing.yaml")


def test_every_shipped_recipe_loads():
    from pathlib import Path

    recipes = sorted((Path(__file__).resolve().parents[2] / "training").glob("*.yaml"))
    assert {p.stem for p in recipes} >= {"coco_w32_256x192", "coco_w48_256x192", "mpii_w32_256x256", "finetune_quick"}
    for path in recipes:
        recipe = load_recipe(path)
        assert recipe.name == path.stem and recipe.epochs > 0
    official = load_recipe(recipes[0].parent / "coco_w32_256x192.yaml")
    assert (official.optim.lr, official.optim.milestones, official.epochs) == (1e-3, [170, 200], 210)


def test_train_command(capsys, assets, tmp_path, models_home):
    from hrnet_studio.cli.main import main

    root = assets / "data" / "coco_sample"
    args = ["train", str(Path_(__file__).resolve().parents[2] / "training" / "finetune_quick.yaml"),
            f"data.train_annotations={root / 'annotations' / 'test_coco.json'}", f"data.train_images={root / 'images'}",
            "model.base=", "model.arch=hrnet_w8", "model.input_size=[96,128]", "epochs=1", "batch_size=6",
            "workers=0", "device=cpu", f"output={tmp_path}", "register_as=cli-tiny", "flip_test=false"]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "training finetune_quick: 12 persons, 17 joints, 1 epochs on cpu" in err and "registered as cli-tiny" in err
    assert main(["train", str(tmp_path / "nope.yaml")]) == 2
    assert "recipe not found" in capsys.readouterr().err


def test_two_cpu_processes_with_gloo_stay_in_sync(assets, tmp_path):
    """torchrun, 2 processes, gloo: rank 0 logs and saves; both end with identical weights."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = assets / "data" / "coco_sample"
    recipe = Path_(__file__).resolve().parents[2] / "training" / "finetune_quick.yaml"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={port}", "-m", "hrnet_studio", "train", str(recipe),
           f"data.train_annotations={root / 'annotations' / 'test_coco.json'}", f"data.train_images={root / 'images'}",
           "model.base=", "model.arch=hrnet_w8", "model.input_size=[96,128]", "epochs=2", "batch_size=3",
           "workers=0", "device=cpu", f"output={tmp_path}", "register_as=", "flip_test=false", "name=ddp"]
    env = {**os.environ, "HRNET_STUDIO_MODELS": str(tmp_path / "models"), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    events = [json.loads(line) for line in (tmp_path / "ddp" / "events.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]  # logged once, by rank 0
    sync = next(e for e in events if e["event"] == "ddp")
    assert sync["world_size"] == 2 and sync["in_sync"] and sync["max_param_difference"] == 0.0
    assert (tmp_path / "ddp" / "best.pth").exists() and (tmp_path / "ddp" / "last.pth").exists()


def test_a_resumed_run_registers_the_best_epoch_from_before_the_interruption(assets, tmp_path, models_home,
                                                                            monkeypatch):
    scores = iter([0.5, 0.1])  # epoch 1 is the best; epoch 2, after the resume, is worse
    monkeypatch.setattr(Trainer, "validate", lambda self: {"val_loss": 1.0, "coco_ap": next(scores)})
    recipe = tiny_recipe(assets, tmp_path, epochs=2, register_as="resumed")
    Trainer(recipe, registry=ModelRegistry(), say=lambda _: None, show_progress=False).run(stop_after=1)
    result = Trainer(recipe, registry=ModelRegistry(), say=lambda _: None, show_progress=False).run(resume=True)
    assert result.registered == "resumed" and result.best_metric == 0.5
    assert ModelRegistry().find("resumed").metadata.metrics == {"coco_ap": 0.5}


def test_missing_images_stop_training_before_it_starts(assets, tmp_path):
    from hrnet_studio.training.datasets.records import DatasetError

    recipe = tiny_recipe(assets, tmp_path, **{"data.train_images": tmp_path})
    with pytest.raises(DatasetError, match=r"4 of 4 images of test_coco.json are not in .* \(first: "):
        Trainer(recipe, say=lambda _: None, show_progress=False)
