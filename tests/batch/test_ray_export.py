"""Batch export on a real Ray cluster started on 127.0.0.1 for these tests (and stopped after them)."""
import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from hrnet_studio.batch.manifest import Manifest
from hrnet_studio.cli.main import main

ray = pytest.importorskip("ray", reason="Ray is an optional part (pip install 'hrnet-studio[cluster]')")
CLIPS = ("single_person_taichi_340x256.mp4", "two_people_basketball_gym_426x240.mp4",
         "single_person_weightlifting_340x256.mp4")
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_of(session_root: str) -> list[psutil.Process]:
    """The processes of the Ray cluster whose files live under ``session_root`` (each names it when started)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(session_root in part for part in process.info["cmdline"] or ()):
                found.append(process)
        except (psutil.Error, TypeError):
            continue
    return found


def stop_cluster(session_root: str) -> None:
    """Stop only this test's cluster (``ray stop`` would stop every Ray cluster on the machine): its processes
    and their children, asked first, then killed."""
    processes = processes_of(session_root)
    processes += [c for p in list(processes) for c in _children(p)]
    for process in processes:
        try:
            process.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(processes, timeout=5)
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            pass


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


@pytest.fixture(scope="module")
def cluster():
    """A head node on 127.0.0.1 with 2 CPUs (the test machine's), with its own session folder; only its processes
    are stopped when the tests end."""
    port = free_port()
    root = tempfile.mkdtemp(prefix="rayt")  # short: Ray's socket paths live under it
    try:
        started = subprocess.run([RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                                  "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                                  f"--temp-dir={root}"], capture_output=True, text=True, timeout=120)
        if started.returncode != 0:
            pytest.fail(f"ray start failed: {started.stderr[-2000:]}")
        assert processes_of(root), "the cluster's processes cannot be told from others"
        yield f"127.0.0.1:{port}"
    finally:
        stop_cluster(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def footage(tmp_path, videos):
    folder = tmp_path / "footage"
    folder.mkdir()
    for name in CLIPS:
        shutil.copy(videos / name, folder / name)
    return folder


def export_args(footage, out, model, *extra):
    return ["export", footage, "-o", out, "--model", model, "--detector", "none", "--max-frames", 24,
            "--device", "cpu", "--backend", "torch", *extra]


def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_a_batch_on_ray_survives_a_killed_worker_and_matches_one_process(cluster, footage, tmp_path,
                                                                         small_checkpoint_96x128, capsys):
    alone = tmp_path / "alone"
    assert main([str(a) for a in export_args(footage, alone, small_checkpoint_96x128)]) == 0
    capsys.readouterr()

    out = tmp_path / "on_ray"
    threads = len(os.sched_getaffinity(0))  # as many as the export alone ran with: the same sums, the same numbers
    command = [sys.executable, "-m", "hrnet_studio", *map(str, export_args(footage, out, small_checkpoint_96x128)),
               "--ray", cluster, "--cpus-per-task", str(threads)]
    env = {**os.environ, "HRNET_STUDIO_MODELS": str(tmp_path / "models")}
    log = tmp_path / "export.log"  # a file, not a pipe: Ray's own messages could fill a pipe nobody reads yet
    run = subprocess.Popen(command, stdout=open(log, "w"), stderr=subprocess.STDOUT, text=True, env=env)
    killed = None
    deadline = time.monotonic() + 240
    while run.poll() is None and time.monotonic() < deadline:
        if killed is None:  # kill the first worker seen exporting a video, once: Ray must run that video again
            for process in psutil.process_iter(["pid", "cmdline"]):
                if "ray::_export_on_node" in " ".join(process.info["cmdline"] or []):
                    process.kill()
                    killed = process.info["pid"]
                    break
        time.sleep(0.05)
    run.wait(timeout=max(1.0, deadline - time.monotonic()))
    err = log.read_text(errors="replace")
    assert run.returncode == 0, err[-3000:]
    assert killed is not None, "no Ray worker was seen exporting"
    assert "3 videos → " in err and "on the Ray cluster" in err and "3 done (72 frames), 0 skipped" in err
    records = Manifest(out).last.values()
    assert {r.status for r in records} == {"done"} and all("/pid" in r.worker for r in records)
    for name in CLIPS:  # the same numbers as one process gives, on the same backend
        stem = name[:-4]
        assert rows(out / f"{stem}.csv") == rows(alone / f"{stem}.csv")
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # the killed attempt left no part file


def test_without_ray_the_option_says_how_to_get_it(capsys, footage, tmp_path, small_checkpoint_96x128, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    code = main([str(a) for a in export_args(footage, tmp_path / "out", small_checkpoint_96x128, "--ray")])
    assert code == 2
    assert "--ray needs Ray, an optional part: pip install 'hrnet-studio[cluster]'" in capsys.readouterr().err
