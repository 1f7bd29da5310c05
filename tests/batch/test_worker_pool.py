"""A worker process killed mid-video (``kill -9``, as the out-of-memory killer does) costs only that video: it is
retried on a new worker, every other video of the batch ends done, and the manifest says what happened."""
from __future__ import annotations

import os
import shutil
import signal
from collections import Counter

from hrnet_studio.batch.export import run_batch
from hrnet_studio.batch.manifest import Manifest
from hrnet_studio.batch.task import RETRIES, VideoTask
from hrnet_studio.batch.worker_pool import ProcessPoolRunner, death_cause
from hrnet_studio.inference.options import PipelineChoice, PipelineOptions

LONG = 60  # frames of the videos whose worker is killed: it is killed at its first frame, long before its last


def test_death_causes_read_as_the_manifest_says_them():
    assert death_cause(-9) == "worker died: signal 9" and death_cause(1) == "worker died: exit code 1"


def test_a_killed_worker_costs_only_its_video_which_is_retried(tmp_path, videos, small_checkpoint_96x128):
    footage = tmp_path / "footage"
    footage.mkdir()
    sources = {"once": "single_person_taichi_340x256.mp4", "always": "single_person_weightlifting_340x256.mp4",
               "a": "two_people_basketball_gym_426x240.mp4", "b": "single_person_taichi_340x256.mp4",
               "c": "two_people_basketball_gym_426x240.mp4"}
    tasks = []
    for name, clip in sources.items():
        shutil.copyfile(videos / clip, footage / f"{name}.mp4")
        tasks.append(VideoTask(footage / f"{name}.mp4", name, tmp_path / "out",
                               max_frames=LONG if name in ("once", "always") else 2))
    choice = PipelineChoice(model=str(small_checkpoint_96x128), detector="none", device="cpu", backend="torch")
    runner = ProcessPoolRunner(choice, PipelineOptions(), workers=2)
    kills, pids = Counter(), set()

    def on_progress(name: str, done: int, total: int) -> None:
        if done == 1 and (name == "always" or (name == "once" and not kills["once"])):
            kills[name] += 1
            pids.add(runner.running[name])
            os.kill(runner.running[name], signal.SIGKILL)

    summary = run_batch(tasks, {"case": "killed"}, tmp_path / "out", runner, on_progress)
    assert kills == {"once": 1, "always": RETRIES + 1} and len(pids) == RETRIES + 2  # a new worker each time
    records = {r.name: r for r in Manifest(tmp_path / "out").last.values()}
    assert {n: r.status for n, r in records.items()} == {"once": "done", "always": "failed", "a": "done", "b": "done",
                                                         "c": "done"}
    assert records["once"].attempts == 2 and records["once"].frames == LONG
    assert records["once"].notes == ["worker died: signal 9 (attempt 1): done on attempt 2"]
    assert records["always"].attempts == RETRIES + 1
    assert records["always"].error == f"worker died: signal 9 on each of {RETRIES + 1} attempts exporting always.mp4"
    assert not summary.interrupted and len(summary.failed) == 1
    lines = summary.lines(len(tasks))
    assert lines[0].startswith("4 done") and "1 failed" in lines[0]
    assert "retried: once: worker died: signal 9 (attempt 1): done on attempt 2" in lines
    assert f"failed: always: worker died: signal 9 on each of {RETRIES + 1} attempts exporting always.mp4" in lines
    written = sorted(p.name for p in (tmp_path / "out").iterdir())  # no part file of the killed exports is left
    assert written == ["a.csv", "b.csv", "c.csv", "manifest.jsonl", "once.csv"]
    assert runner.running == {}


def threads_of_a_worker(share, answer) -> None:
    """In a worker process: enter its share as a batch worker does, then say what it runs with."""
    import torch

    from hrnet_studio.batch.worker_pool import enter_share
    from hrnet_studio.thread_budget import thread_budget

    enter_share(share)
    answer.send((sorted(os.sched_getaffinity(0)), torch.get_num_threads(), thread_budget().torch_threads,
                 thread_budget().ort_intra, os.environ.get("CUDA_VISIBLE_DEVICES")))


def test_workers_start_from_the_fork_server_on_their_own_share_of_the_cores():
    """Workers are forked from a server that imported PyTorch for all of this process's cores: each still runs on
    its own share, with a thread budget and PyTorch threads to match."""
    from hrnet_studio.batch.worker_pool import PRELOADED, worker_context

    context = worker_context()
    assert context.get_start_method() == "forkserver" and "torch" in PRELOADED
    cores = sorted(os.sched_getaffinity(0))
    for share in (cores, cores[:1]):  # all of them, and one fewer than the server planned for where there are two
        answer, child = context.Pipe()
        process = context.Process(target=threads_of_a_worker, args=((share, None), child))
        process.start()
        affinity, torch_threads, budget, ort, gpu = answer.recv()
        process.join()
        assert affinity == sorted(share) and torch_threads == budget == ort == len(share) and gpu is None
