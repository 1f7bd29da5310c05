"""A batch export from start to end: plan (what the manifest says is done is skipped), run on a runner (this
process, worker processes, a Ray cluster), record every video in the manifest as it ends, and sum up."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .local import Progress
from .manifest import Manifest, VideoRecord
from .task import VideoTask


@dataclass
class BatchSummary:
    """What became of each video of a batch."""

    done: list[VideoRecord] = field(default_factory=list)
    partial: list[VideoRecord] = field(default_factory=list)  # exported up to where a damaged file stops decoding
    failed: list[VideoRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # names already done with the same settings and model
    interrupted: bool = False

    def add(self, record: VideoRecord) -> None:
        {"done": self.done, "partial": self.partial}.get(record.status, self.failed).append(record)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.partial or self.interrupted)

    def lines(self, total: int) -> list[str]:
        """The summary for the user: one line of counts, then one line per video that did not go well."""
        frames = sum(r.frames for r in self.done + self.partial)
        head = (f"{len(self.done)} done ({frames} frames), {len(self.skipped)} skipped (already done), "
                f"{len(self.partial)} partial, {len(self.failed)} failed")
        left = total - len(self.done) - len(self.partial) - len(self.failed) - len(self.skipped)
        if self.interrupted:
            head += f", {left} not started: interrupted (run the same command again to go on)"
        return ([head] + [f"retried: {r.name}: {r.notes[-1]}" for r in self.done + self.partial if r.attempts > 1]
                + [f"partial: {r.name}: {r.error}" for r in self.partial]
                + [f"failed: {r.name}: {r.error}" for r in self.failed])


def plan(tasks: list[VideoTask], settings: dict, manifest: Manifest) -> tuple[list[VideoTask], list[str]]:
    """The tasks to run and the names of those the manifest says are done already."""
    todo, skipped = [], []
    for task in tasks:
        if manifest.is_done(task.video, settings):
            skipped.append(task.name)
        else:
            todo.append(task)
    return todo, skipped


def run_batch(tasks: list[VideoTask], settings: dict, out_dir: Path, runner, on_progress: Progress,
              on_record: Callable[[VideoRecord], None] | None = None) -> BatchSummary:
    """Export every task not done yet with ``runner``; each outcome is in the manifest before the next one
    starts being recorded. Ctrl-C stops the batch with what is done recorded (``summary.interrupted``)."""
    manifest = Manifest(out_dir)
    todo, skipped = plan(tasks, settings, manifest)
    summary = BatchSummary(skipped=skipped)

    def record(result: VideoRecord) -> None:
        manifest.append(result)
        summary.add(result)
        if on_record:
            on_record(result)

    try:
        runner.run(todo, settings, on_progress, record)
    except KeyboardInterrupt:
        summary.interrupted = True
    return summary
