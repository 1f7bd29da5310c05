"""A training run stops when asked and never outlives the app, whatever the launcher did to signals.

The app may be started with SIGINT ignored (``nohup``, a background shell, some desktop launchers); its
children inherit that. These tests start runs from such a parent.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from hrnet_studio.gui.finetune import training_process
from hrnet_studio.gui.finetune.training_process import TrainingProcess
from hrnet_studio.training.stopping import APP_PID_ENV, request_stop

RECIPE = Path(__file__).resolve().parents[2] / "training" / "finetune_quick.yaml"


@pytest.fixture
def sigint_ignored():
    """This process ignores SIGINT, as one started by nohup or from a background shell does."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGINT, previous)


def long_recipe(assets, run_dir: Path, epochs: int = 200) -> Path:
    root = assets / "data" / "coco_sample"
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe.update({"name": run_dir.name, "output": str(run_dir.parent), "epochs": epochs, "batch_size": 6,
                   "workers": 0, "device": "cpu", "flip_test": False, "register_as": None})
    recipe["data"].update({"train_annotations": str(root / "annotations" / "test_coco.json"),
                           "train_images": str(root / "images")})
    recipe["model"].update({"base": None, "arch": "hrnet_w8", "input_size": [96, 128]})
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def events(run_dir: Path) -> list[dict]:
    log = run_dir / "events.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def processes_in(run_dir: Path) -> list[psutil.Process]:
    """Every process whose command line names this run (the trainer, torchrun and its workers)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(str(run_dir) in part for part in proc.info["cmdline"] or []) and proc.pid != os.getpid():
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_stop_reaches_a_run_that_inherited_an_ignored_sigint(qtbot, assets, tmp_path, sigint_ignored, monkeypatch):
    monkeypatch.setattr(training_process, "STOP_GRACE_MS", 90_000)  # a loaded machine's slow step is not a kill
    run = tmp_path / "runs" / "ignored"
    recipe = long_recipe(assets, run)
    process = TrainingProcess(run)
    process.start(recipe)
    qtbot.waitUntil(lambda: any(e["event"] == "epoch" for e in events(run)), timeout=120_000)
    with qtbot.waitSignal(process.finished, timeout=training_process.STOP_GRACE_MS - 2_000) as finished:
        process.stop()
    assert finished.args[0] == "stopped"  # after the current step: the trainer's own "stopped" event says so
    stopped = [e for e in events(run) if e["event"] == "stopped"]
    assert stopped and stopped[-1]["reason"] == "stopped at the user's request"  # the trainer stopped itself
    assert (run / "last.pth").is_file() and not (run / "stop.request").exists()
    assert process.process.exitCode() == 130


def test_closing_the_app_leaves_no_process_behind(qtbot, assets, tmp_path, sigint_ignored):
    run = tmp_path / "runs" / "closing"
    process = TrainingProcess(run)
    process.start(long_recipe(assets, run))
    qtbot.waitUntil(lambda: any(e["event"] == "step" for e in events(run)), timeout=120_000)
    process.stop_and_wait()  # what the wizard does when the app closes: no event loop runs meanwhile
    assert not process.is_running() and processes_in(run) == []
    assert any(e["event"] == "stopped" for e in events(run))


def test_a_run_that_does_not_stop_is_killed_with_its_children(qtbot, tmp_path, monkeypatch):
    """The escalation: a process tree that ignores every request is gone when ``stop_and_wait`` returns."""
    run = tmp_path / "runs" / "stubborn"
    run.mkdir(parents=True)
    child = (f"import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
             f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {str(run)!r}]); "
             f"time.sleep(600)")
    monkeypatch.setattr(training_process, "train_command", lambda *a, **k: [sys.executable, "-c", child, str(run)])
    process = TrainingProcess(run)
    process.start(run / "recipe.yaml")
    wait_for(lambda: len(processes_in(run)) == 2, 30, "the process and its child")
    process.stop_and_wait(grace_ms=1_000)
    wait_for(lambda: processes_in(run) == [], 10, "every process of the run to end")


def test_a_run_started_by_the_app_stops_when_the_app_is_gone(assets, tmp_path):
    run = tmp_path / "runs" / "orphan"
    recipe = long_recipe(assets, run)
    app = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # stands in for the app
    env = {**os.environ, APP_PID_ENV: str(app.pid), "OMP_NUM_THREADS": "1"}
    trainer = subprocess.Popen([sys.executable, "-m", "hrnet_studio", "train", str(recipe)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        wait_for(lambda: any(e["event"] == "step" for e in events(run)), 120, "the first step")
        app.kill()  # the app dies without a word (a crash, a kill -9)
        app.wait()
        assert trainer.wait(timeout=30) == 130
        assert events(run)[-1]["event"] == "stopped"
        assert events(run)[-1]["reason"] == "the app that started this run has closed"
    finally:
        for proc in (app, trainer):
            if proc.poll() is None:
                proc.kill()


def test_torchrun_processes_stop_together_on_request(assets, tmp_path):
    """Two processes under torchrun, SIGINT ignored: one request stops both at the same step."""
    run = tmp_path / "runs" / "ddp-stop"
    recipe = long_recipe(assets, run)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={port}", "-m", "hrnet_studio", "train", str(recipe), "batch_size=3"]
    env = {**os.environ, "HRNET_STUDIO_MODELS": str(tmp_path / "models"), "OMP_NUM_THREADS": "1"}
    log = tmp_path / "torchrun.log"
    with open(log, "w") as stderr:  # a file, not a pipe: a pipe nobody reads can fill and block the run
        torchrun = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        wait_for(lambda: any(e["event"] == "epoch" for e in events(run)), 240, "the first epoch")
        request_stop(run)
        assert torchrun.wait(timeout=60) == 0, log.read_text()[-2000:]  # a stop, not a failure report
        assert processes_in(run) == []
        stopped = [e for e in events(run) if e["event"] == "stopped"]
        assert stopped and stopped[-1]["epoch"] >= 1
        assert (run / "last.pth").is_file()
    finally:
        if torchrun.poll() is None:
            for proc in psutil.Process(torchrun.pid).children(recursive=True):
                proc.kill()
            torchrun.kill()


def test_ctrl_c_reaches_the_trainer_even_when_sigint_was_ignored_by_its_launcher(assets, tmp_path):
    run = tmp_path / "runs" / "ctrl-c"
    recipe = long_recipe(assets, run)
    log = tmp_path / "train.log"
    with open(log, "w") as stderr:
        trainer = subprocess.Popen([sys.executable, "-m", "hrnet_studio", "train", str(recipe)],
                                   env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL,
                                   stderr=stderr, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        wait_for(lambda: any(e["event"] == "epoch" for e in events(run)), 120, "the first epoch")
        trainer.send_signal(signal.SIGINT)
        assert trainer.wait(timeout=30) == 130
        err = log.read_text()
        assert "stopped by SIGINT: epoch " in err and "is saved; continue with `hrnet-studio train" in err
        assert events(run)[-1] == {**events(run)[-1], "event": "stopped", "reason": "stopped by SIGINT"}
    finally:
        if trainer.poll() is None:
            trainer.kill()
