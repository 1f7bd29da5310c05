"""``hrnet-studio bench``: pose-network throughput (persons/s) at several batch sizes."""
from __future__ import annotations

import argparse

from ..errors import StudioError
from .common import add_model_arguments, add_runtime_arguments, load_model


def add_bench_parser(sub) -> None:
    bench = sub.add_parser("bench", help="measure pose-network throughput (persons/s) at several batch sizes",
                           description="Runs the pose network on random crops and prints persons per second.")
    add_model_arguments(bench)
    add_runtime_arguments(bench)
    bench.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32], help="batch sizes (default 1 8 32)")
    bench.add_argument("--seconds", type=float, default=3.0, help="time per batch size (default 3)")
    bench.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from ..inference.runtime.bench import measure_throughput
    from ..models.registry import ModelRegistry
    from ..thread_budget import enforce as enforce_thread_budget

    if any(b < 1 for b in args.batches):
        raise StudioError("--batches must be positive")
    loaded = load_model(args, ModelRegistry())
    spec = loaded.spec
    print(f"{loaded.record.name}: {spec.arch}, {spec.input_size[0]}x{spec.input_size[1]}, "
          f"{loaded.backend_kind} {loaded.precision_label} on {loaded.backend.device_name}")
    print(enforce_thread_budget().describe())
    print(f"{'batch':>5}  {'persons/s':>10}  {'ms/batch':>9}")
    for batch in args.batches:
        result = measure_throughput(loaded.backend, spec.input_size, batch, args.seconds)
        print(f"{batch:>5}  {result.persons_per_s:>10.1f}  {result.ms_per_batch:>9.1f}", flush=True)
    return 0
