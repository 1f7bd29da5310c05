"""``hrnet-studio doctor``: what runs here and why (the app's Help ▸ System report shows the same)."""
from __future__ import annotations

import argparse


def add_doctor_parser(sub) -> None:
    doctor = sub.add_parser(
        "doctor", help="what runs here and why: PyTorch and CUDA, ONNX Runtime's providers, OpenCV, threads, models",
        description="Reports Python, PyTorch and its CUDA build, the GPUs and driver, ONNX Runtime's providers and why "
                    "CUDA or TensorRT is or is not usable (the missing library named), OpenCV's video back ends, the "
                    "thread budget, the model folder, and a short speed check of the default pose model on each "
                    "runtime. Paste it into a bug report.")
    doctor.add_argument("--no-speed", action="store_true", help="skip the speed check (a few seconds)")
    doctor.add_argument("--seconds", type=float, default=0.5, help="time per runtime in the speed check (default 0.5)")
    doctor.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    from ..errors import StudioError
    from ..inference.runtime.system_report import format_report, system_report

    if args.seconds <= 0:
        raise StudioError("--seconds must be more than 0")
    print(format_report(system_report(speed=not args.no_speed, seconds=args.seconds)), end="")
    return 0
