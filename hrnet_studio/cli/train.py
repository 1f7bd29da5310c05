"""``hrnet-studio train``: train or fine-tune from a recipe, resumable, and register the result."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import EXIT_INTERRUPTED
from .common import say


def add_train_parser(sub) -> None:
    train = sub.add_parser("train", help="train or fine-tune HRNet from a recipe (YAML) and register the result",
                           description="Train or fine-tune HRNet. Recipes live in training/; any setting can be "
                                       "overridden as section.key=value (e.g. optim.lr=1e-4 epochs=20).")
    train.add_argument("recipe", type=Path, help="recipe YAML, e.g. training/coco_w32_256x192.yaml")
    train.add_argument("overrides", nargs="*", help="section.key=value settings that replace the recipe's")
    train.add_argument("--resume", action="store_true", help="continue from the last finished epoch")
    train.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from ..models.registry import ModelRegistry
    from ..training.recipe import load_recipe
    from ..training.stopping import StopSignal
    from ..training.trainer import Trainer, run_folder

    recipe = load_recipe(args.recipe, args.overrides)
    # Ctrl-C, SIGTERM, a stop request file and the app closing all stop the run at a resumable point,
    # whatever signal disposition the launcher left behind.
    stop = StopSignal(run_folder(recipe)).install_signal_handlers().watch_app()
    resume = f"`hrnet-studio train {args.recipe} {' '.join(args.overrides)} --resume`".replace("  ", " ")
    try:
        trainer = Trainer(recipe, registry=ModelRegistry(), say=say, stop=stop)
        say(f"training {recipe.name}: {len(trainer.train_records)} persons, {trainer.keypoints.num_joints} joints, "
            f"{recipe.epochs} epochs on {trainer.device}; log: {trainer.log.path}")
        result = trainer.run(resume=args.resume)
        trainer.close()
    except KeyboardInterrupt:
        say(f"interrupted: the last finished epoch is saved; continue with {resume}")
        return EXIT_INTERRUPTED
    finally:
        stop.restore_signal_handlers()
    if result.stopped:
        say(f"{result.stopped}: " + (f"epoch {result.epochs_run} is saved; continue with {resume}" if result.epochs_run
                                     else "no epoch had finished yet, so there is nothing to resume"))
        # torchrun reports any other exit code of its processes as a failure, with a misleading "root cause"
        return 0 if trainer.dist.enabled else EXIT_INTERRUPTED
    say(f"done: best {result.metric_name} {result.best_metric:.4f}; checkpoint {result.best_checkpoint}"
        + (f"; registered as {result.registered}" if result.registered else ""))
    return 0
