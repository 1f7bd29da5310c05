"""The trainer: one recipe → a trained HRNet, validated every epoch, resumable, registered in the model folder.

Full-state checkpoints (model, optimizer, scheduler, epoch, RNG, best metric) make ``--resume`` land
exactly where an uninterrupted run would be. A JSON-lines log (``events.jsonl``) records every step
the GUI plots.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..atomic_writer import torch_save
from ..errors import StudioError
from ..inference.codec.heatmap_codec import HeatmapCodec
from ..inference.codec.transforms import IMAGENET
from ..inference.runtime.backends import TorchBackend, resolve_device
from ..models.checkpoints import (
    build_pose_model,
    embedded_metadata,
    load_checkpoint_object,
    normalize_state_dict,
    save_pose_checkpoint,
)
from ..models.metadata import ModelMetadata, keypoints_to_dict, now_iso
from ..models.registry import ModelRegistry
from ..models.spec import Normalization
from ..skeletons import MPII_16, KeypointSet
from .augment import AugmentConfig
from .datasets.coco import CocoKeypoints
from .datasets.joints_dataset import JointsDataset
from .datasets.mpii import load_mpii
from .datasets.records import check_images
from .distributed import DistContext
from .eval_set import EvalSet, build_eval_set
from .events import EventLog
from .finetune import arch_of_state, load_weights_for_finetune
from .loading import loader_settings
from .loss import JointsMSELoss
from .recipe import Recipe
from .stopping import StopSignal, TrainingStopped

SCORES = ("coco_ap", "mpii_pckh")  # validation scores that pick the best epoch and are kept with the model


@dataclass
class TrainResult:
    best_metric: float
    metric_name: str
    epochs_run: int
    best_checkpoint: Path
    registered: str | None = None
    stopped: str | None = None  # why the run stopped before its last epoch, when a stop was asked for


def run_folder(recipe: Recipe) -> Path:
    """Where a recipe's run keeps its checkpoints, log and stop requests."""
    return Path(recipe.output) / recipe.name


class Trainer:
    """One recipe (``recipe.py``: data, model, optimisation, epochs) → a trained HRNet.

    ``run()`` trains to the last epoch, validating each (COCO OKS AP, MPII PCKh, else the loss), keeps
    ``best.pth`` and the resumable ``last.pth`` in ``run_folder(recipe)``, logs every step to ``events.jsonl``
    and adds the best model to the model folder; ``run(resume=True)`` continues an interrupted run. Input crops
    are the recipe's input size (width, height) in pixels, targets its codec's heatmaps (a quarter of that)."""

    def __init__(self, recipe: Recipe, registry: ModelRegistry | None = None,
                 say: Callable[[str], None] = print, show_progress: bool = True, stop: StopSignal | None = None):
        self.recipe = recipe
        self.dist = DistContext.from_env()
        self.registry = registry if self.dist.main else None
        self.say = say if self.dist.main else (lambda _: None)
        self.show_progress = show_progress and self.dist.main
        self.out_dir = run_folder(recipe)
        self.stop = stop or StopSignal(self.out_dir)  # a stop request file is honoured however the run was started
        self.log = EventLog(self.out_dir / "events.jsonl", enabled=self.dist.main)
        self.device = self.dist.join(resolve_device(recipe.device))
        self.codec = HeatmapCodec.for_input(tuple(recipe.model.input_size), recipe.model.sigma,
                                            encoding=recipe.model.encoding)
        torch.manual_seed(recipe.seed)  # the same recipe starts from the same weights
        self._load_data()
        self._build_model()
        self._make_datasets()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=recipe.optim.lr,
                                          weight_decay=recipe.optim.weight_decay)
        if recipe.optim.schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=max(recipe.epochs, 1))
        elif recipe.optim.schedule == "step":
            self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, recipe.optim.milestones,
                                                                  recipe.optim.factor)
        else:
            raise StudioError(f"unknown schedule {recipe.optim.schedule!r}: use step or cosine")
        self.loss_fn = JointsMSELoss(use_target_weight=True)
        self.amp = recipe.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.epoch = 0
        self.best_metric = -float("inf")

    # ----- setup -------------------------------------------------------------------------------
    def _load_data(self) -> None:
        """The training persons and the validation set (``eval_set.build_eval_set``, as ``eval`` builds it)."""
        d, w, h = self.recipe.data, *self.recipe.model.input_size
        if d.format == "coco":
            train = CocoKeypoints(d.train_annotations, d.train_images)
            self.keypoints: KeypointSet = train.keypoints
            self.train_records = train.gt_records(w / h)
        elif d.format == "mpii":
            self.keypoints = MPII_16
            self.train_records = load_mpii(d.train_annotations, d.train_images)
        else:
            raise StudioError(f"unknown data format {d.format!r}: use coco or mpii")
        if not self.train_records:
            raise StudioError("the training set has no person with a labelled keypoint")
        check_images(self.train_records, d.train_annotations, d.train_images)
        if d.format == "mpii" and not d.val_annotations:
            self.val = EvalSet(MPII_16)
        else:  # a COCO run without a validation file is validated on its training file
            self.val = build_eval_set(d.format, d.val_annotations or d.train_annotations, d.val_images or d.train_images,
                                      d.val_detections, d.val_pckh_gt, need_truth=False, say=self.say)

    def _make_datasets(self) -> None:
        a = self.recipe.augment
        augment = AugmentConfig(a.scale_factor, a.rotation_factor, 0.6, a.flip, a.half_body_prob,
                                a.half_body_min_joints)
        self.train_set = JointsDataset(self.train_records, self.keypoints, self.codec, True, augment,
                                       self.recipe.seed, normalization=self.normalization)
        self.val_set = self.val.dataset(self.codec, self.normalization)
        self.val_records = self.val_set.records

    def _build_model(self) -> None:
        m = self.recipe.model
        k = self.keypoints.num_joints
        base = m.base
        arch = m.arch
        state = None
        self.normalization = IMAGENET  # a new model learns on ImageNet-normalised input, as the official HRNet
        if base:
            path, described = self._resolve_base(base)
            obj = load_checkpoint_object(path)
            state = normalize_state_dict(obj, path.name)
            self.normalization = described or Normalization.from_dict((embedded_metadata(obj) or {}).get("normalization"))
            arch = arch_of_state(state, arch)
        self.model = build_pose_model(arch, k)
        self.model.init_weights()
        if state is not None:
            plan = load_weights_for_finetune(self.model, state)
            loaded, reinit = plan.loaded, plan.reinitialised
            if not loaded:
                raise StudioError(f"{base} shares no tensor with {arch}: it is not an HRNet checkpoint of this layout")
            self.log.write("loaded", base=str(base), loaded=len(loaded), reinitialised=reinit)
            note = f"; re-initialised {', '.join(reinit)} (new keypoint set)" if reinit else ""
            self.say(f"fine-tuning from {base}: loaded {len(loaded)} tensors{note}")
        # channels-last on a GPU: its convolutions (and AMP's tensor cores) run in NHWC; the CPU keeps NCHW
        self.memory_format = torch.channels_last if self.device.type == "cuda" else torch.contiguous_format
        self.model.to(self.device, memory_format=self.memory_format)
        self.net = self.dist.wrap(self.model, self.device)

    def _resolve_base(self, base: str) -> tuple[Path, Normalization | None]:
        """The base checkpoint's file, and its normalisation when the model folder describes it."""
        path = Path(base)
        if path.is_file():
            return path, None
        record = (self.registry or ModelRegistry()).resolve(base)
        if record.format != "pth":
            raise StudioError(f"{record.name} is not a PyTorch checkpoint; fine-tune from its .pth model")
        return record.path, record.metadata.normalization_spec() if record.metadata else None

    # ----- loop ------------------------------------------------------------------------------------
    def run(self, resume: bool = False, stop_after: int | None = None) -> TrainResult:
        """Train to the recipe's last epoch (or ``stop_after`` more epochs: an interruption, resumable)."""
        if resume:
            self._resume()
        else:
            self.log.write("start", recipe=self.recipe.to_dict(), train_persons=len(self.train_records),
                           val_persons=len(self.val_records), device=str(self.device))
        metric_name = self.val.metric or "val_loss"
        last = self.recipe.epochs if stop_after is None else min(self.recipe.epochs, self.epoch + stop_after)
        try:
            while self.epoch < last:
                self._run_epoch(metric_name)
        except TrainingStopped:
            self.dist.barrier()
            self.log.write("stopped", epoch=self.epoch, reason=self.stop.reason)
            if self.dist.main:
                self.stop.clear()
            return TrainResult(self.best_metric, metric_name, self.epoch, self.out_dir / "best.pth",
                               stopped=self.stop.reason)
        best = self.out_dir / "best.pth"
        if self.epoch < self.recipe.epochs:  # stopped early: resumable, nothing registered yet
            self.log.write("stopped", epoch=self.epoch)
            return TrainResult(self.best_metric, metric_name, self.epoch, best)
        self._check_sync()
        registered = self._register(best, metric_name)
        self.log.write("done", best_metric=self.best_metric, metric=metric_name, registered=registered)
        return TrainResult(self.best_metric, metric_name, self.epoch, best, registered)

    def _run_epoch(self, metric_name: str) -> None:
        """Train one epoch, validate, keep the best model and the full state (the resumable point)."""
        if self._stop_requested():
            raise TrainingStopped
        started = time.perf_counter()
        train_loss = self.train_epoch()
        metrics = self.validate() if self.dist.main else {}
        # higher is better: the score itself, or the negated loss where there is no score
        metric = metrics.get(metric_name) if metric_name in SCORES else None
        metric = -metrics.get("val_loss", train_loss) if metric is None else metric
        improved = metric > self.best_metric
        if improved and self.dist.main:
            self.best_metric = metric
            self._save_best(metrics)
        self.epoch += 1
        self.scheduler.step()
        if self.dist.main:
            self._save_state()
        self.dist.barrier()
        self.log.write("epoch", epoch=self.epoch, train_loss=train_loss, lr=self.optimizer.param_groups[0]["lr"],
                       time_s=time.perf_counter() - started, best=improved, **metrics)
        self.say(f"epoch {self.epoch}/{self.recipe.epochs}: loss {train_loss:.6f}, "
                 + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))

    def _stop_requested(self) -> bool:
        """Asked by every process at the same points; with several, one process's request stops them all."""
        wanted = self.dist.any(self.stop.requested(), self.device)
        if wanted and self.stop.reason is None:
            self.stop.reason = "stopped at another process's request"
        return wanted

    def _loader(self, dataset: JointsDataset, train: bool) -> DataLoader:
        common = {"batch_size": self.recipe.batch_size, "drop_last": False,
                  **loader_settings(self.recipe.workers, self.device.type, self.dist.world_size)}
        sampler = self.dist.sampler(dataset, self.recipe.seed, self.epoch) if train else None
        if sampler is not None:
            return DataLoader(dataset, sampler=sampler, **common)
        generator = torch.Generator().manual_seed(self.recipe.seed * 1000 + self.epoch)
        return DataLoader(dataset, shuffle=train, generator=generator, **common)

    def train_epoch(self) -> float:
        from tqdm import tqdm

        self.net.train()
        self.train_set.set_epoch(self.epoch)
        loader = self._loader(self.train_set, train=True)
        total, count = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {self.epoch + 1}", disable=not self.show_progress, leave=False)
        for step, (x, target, weight, _) in enumerate(bar):
            if self.recipe.max_train_batches and step >= self.recipe.max_train_batches:
                break
            if self._stop_requested():
                bar.close()
                raise TrainingStopped
            x, target, weight = (t.to(self.device, non_blocking=True) for t in (x, target, weight))
            x = x.contiguous(memory_format=self.memory_format)
            with torch.autocast(self.device.type, enabled=self.amp):
                loss = self.loss_fn(self.net(x).float(), target, weight)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            total += loss.item() * len(x)
            count += len(x)
            bar.set_postfix(loss=f"{loss.item():.6f}")
            self.log.write("step", epoch=self.epoch, step=step, loss=loss.item())
        total, count = self.dist.sum([total, count], self.device)  # the mean over every process's samples
        return total / max(count, 1)

    @torch.inference_mode()
    def validate(self) -> dict[str, float]:
        if not self.val_records:
            return {}
        self.model.eval()
        total = 0.0
        for x, target, weight, _ in self._loader(self.val_set, train=False):
            out = self.model(x.to(self.device)).float()
            total += self.loss_fn(out, target.to(self.device), weight.to(self.device)).item() * len(x)
        metrics = {"val_loss": total / len(self.val_set)}
        if self.val.metric is not None:
            scores = self.val.score(TorchBackend(self.model, str(self.device)), self.val_set, self.recipe.flip_test,
                                    self.recipe.batch_size)
            metrics[self.val.metric] = scores["AP"] if self.val.metric == "coco_ap" else scores["Mean"]
            metrics.update({k: v for k, v in scores.items() if k.startswith("pck@")})
        return metrics

    def close(self) -> None:
        """Leave the process group (torchrun runs)."""
        self.dist.leave()

    def _check_sync(self) -> None:
        """After training, every process must hold the same weights; rank 0 logs the largest difference."""
        if self.dist.enabled:
            worst = self.dist.max_difference(self.model, self.device)
            self.log.write("ddp", world_size=self.dist.world_size, max_param_difference=worst, in_sync=worst == 0.0)

    # ----- state -----------------------------------------------------------------------------------
    def _state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(), "epoch": self.epoch,
                "best_metric": self.best_metric, "torch_rng": torch.get_rng_state(), "recipe_name": self.recipe.name}

    def _save_state(self) -> None:
        torch_save(self._state(), self.out_dir / "last.pth")  # the previous epoch's file stays if this one fails

    def _resume(self) -> None:
        path = self.out_dir / "last.pth"
        if not path.is_file():
            raise StudioError(f"nothing to resume: {path} does not exist (run without --resume first)")
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.best_metric = int(state["epoch"]), float(state["best_metric"])
        torch.set_rng_state(state["torch_rng"])
        self.log.write("resume", epoch=self.epoch)
        self.say(f"resumed {self.recipe.name} after epoch {self.epoch}")

    def _metadata(self, metrics: dict[str, float]) -> dict:
        w, h = self.recipe.model.input_size
        return {"keypoints": keypoints_to_dict(self.keypoints), "input_size": [w, h], "source": "fine-tune",
                "normalization": self.normalization.to_dict(), "encoding": self.codec.encoding,
                "training_data": Path(self.recipe.data.train_annotations).name,
                "metrics": {k: float(v) for k, v in metrics.items() if k in SCORES},
                "arch": self.model.config.arch, "created": now_iso()}

    def _save_best(self, metrics: dict[str, float]) -> None:
        save_pose_checkpoint(self.model, self.out_dir / "best.pth", self._metadata(metrics))

    def _register(self, best: Path, metric_name: str) -> str | None:
        """Add the best epoch's checkpoint to the model folder (``registry.add``) so the app can pick it."""
        if self.registry is None or not best.is_file():
            return None
        name = self.recipe.register_as or self.recipe.name
        meta = embedded_metadata(load_checkpoint_object(best))  # the best epoch may precede a resume
        record = self.registry.add(best, ModelMetadata(
            name=name, file=f"{name}.pth", arch=meta["arch"], input_size=meta["input_size"],
            num_joints=self.keypoints.num_joints, keypoints=meta["keypoints"],
            normalization=meta.get("normalization") or IMAGENET.to_dict(),
            encoding=meta.get("encoding", "official"), source="fine-tune",
            training_data=meta["training_data"], metrics=meta["metrics"], sha256=None,
            notes=[f"trained with recipe {self.recipe.name} for {self.epoch} epochs; best {metric_name}"]))
        self.say(f"registered {record.name} in {self.registry.folder}")
        return record.name
