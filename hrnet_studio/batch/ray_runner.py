"""Running a batch on a Ray cluster: each video is one Ray task that declares the CPUs (and GPUs) it needs, builds
its pipeline once per worker process from the same choice, and writes its outputs to the output folder, which
every node must see (shared storage), as it must see the model folder. A task whose worker dies (a killed
process, a lost node) is retried by Ray, then recorded as failed; progress comes back through a Ray queue."""
from __future__ import annotations

import os
import queue
from pathlib import Path

from ..errors import StudioError, user_message
from ..inference.options import PipelineChoice, PipelineOptions
from .local import Progress, RecordSink
from .manifest import VideoRecord
from .options import BatchOptions
from .task import RETRIES, VideoTask

PROGRESS_EVERY = 10  # frames between progress messages from a task


def import_ray():
    try:
        import ray
    except ImportError:
        raise StudioError("--ray needs Ray, an optional part: pip install 'hrnet-studio[cluster]'") from None
    return ray


class RayRunner:
    """Tasks on the cluster at ``address`` (None: ``RAY_ADDRESS``, the cluster started on this machine with ``ray
    start``, or else a local one started for this batch)."""

    def __init__(self, address: str | None, choice: PipelineChoice, options: PipelineOptions, models_folder: Path,
                 cpus_per_task: float = BatchOptions.cpus_per_task,
                 gpus_per_task: float = BatchOptions.gpus_per_task):
        if cpus_per_task <= 0 or gpus_per_task < 0:
            raise StudioError("--cpus-per-task must be above 0 and --gpus-per-task at least 0")
        self.address, self.choice, self.options = address or None, choice, options
        self.models_folder = models_folder
        self.cpus, self.gpus = cpus_per_task, gpus_per_task
        self.workers = 0  # decided by the cluster

    def run(self, tasks: list[VideoTask], settings: dict, on_progress: Progress, on_record: RecordSink) -> None:
        ray = import_ray()
        from ray.util.queue import Queue

        try:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     runtime_env={"env_vars": {"HRNET_STUDIO_MODELS": str(self.models_folder)}})
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise StudioError(f"cannot reach the Ray cluster at {self.address or 'the default address'}: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        try:
            updates = Queue()
            remote = ray.remote(_export_on_node).options(num_cpus=self.cpus, num_gpus=self.gpus,
                                                         max_retries=RETRIES, retry_exceptions=False)
            pending = {remote.remote(t, settings, self.choice, self.options, self.cpus, updates): t for t in tasks}
            try:
                while pending:
                    ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
                    _drain(updates, on_progress)
                    for ref in ready:
                        task = pending.pop(ref)
                        on_record(_record_of(ray, ref, task, settings))
                _drain(updates, on_progress)
            except BaseException:
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise
        finally:
            ray.shutdown()


def _drain(updates, on_progress: Progress) -> None:
    try:
        for name, done, total in updates.get_nowait_batch(updates.qsize()):
            on_progress(name, done, total)
    except queue.Empty:
        pass


def _record_of(ray, ref, task: VideoTask, settings: dict) -> VideoRecord:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:  # the worker died on every attempt, or the task was lost
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return VideoRecord(str(task.video), task.name, "failed", settings, attempts=RETRIES + 1,
                           error=f"the Ray task exporting {task.video.name} failed {RETRIES + 1} times: {cause}")


_node: dict = {}


def _export_on_node(task: VideoTask, settings: dict, choice: PipelineChoice, options: PipelineOptions,
                    cpus: float, updates) -> VideoRecord:
    """One video in a Ray worker process, with a pipeline kept for the next videos this process gets."""
    import socket

    from ..inference.factory import build_pipeline
    from ..thread_budget import ThreadBudget, enforce, use_thread_budget
    from .task import run_task

    worker = f"{socket.gethostname()}/pid{os.getpid()}"
    key = (choice, options)
    if _node.get("key") != key:
        use_thread_budget(ThreadBudget.plan(max(1, int(cpus))))  # the CPUs the task declared, not the node's
        try:
            _node["pipeline"], _ = build_pipeline(choice, options)
        except StudioError as exc:
            return VideoRecord(str(task.video), task.name, "failed", settings, error=str(exc), worker=worker)
        except Exception as exc:
            return VideoRecord(str(task.video), task.name, "failed", settings, worker=worker,
                               error=user_message(exc, f"loading the model on {socket.gethostname()}"))
        _node["key"] = key
        enforce()

    def progress(done: int, total: int) -> None:
        if done % PROGRESS_EVERY == 0 or done == total:
            updates.put_nowait((task.name, done, total))

    return run_task(task, _node["pipeline"], settings, progress, worker=worker)
