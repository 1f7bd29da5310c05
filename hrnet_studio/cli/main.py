"""``hrnet-studio`` command line: the parser and the dispatch. Every user error ends in one line and a non-zero exit."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .. import __version__
from ..errors import EXIT_ERROR, EXIT_INTERRUPTED, StudioError
from .bench import add_bench_parser
from .common import parse_size, say
from .doctor import add_doctor_parser
from .evaluate import add_eval_parser
from .export import add_export_parser
from .label import add_label_parser
from .live import add_live_parser
from .models import add_models_parser
from .review import add_review_parser
from .train import add_train_parser

COMMANDS = ("export", "live", "models", "review", "train", "eval", "label", "gui", "bench", "doctor")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hrnet-studio",
        description="Real-time human pose estimation with HRNet. Without a command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"hrnet-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    add_export_parser(sub)
    add_live_parser(sub)
    add_models_parser(sub, parse_size)
    add_review_parser(sub)
    add_train_parser(sub)
    add_eval_parser(sub)
    add_label_parser(sub)
    gui = sub.add_parser("gui", help="open the desktop app (the default when no command is given)")
    gui.add_argument("source", nargs="?", type=Path, help="a video file or image folder to open")
    gui.set_defaults(func=cmd_gui)

    add_bench_parser(sub)
    add_doctor_parser(sub)
    return parser


def cmd_gui(args: argparse.Namespace) -> int:
    from ..gui.app import run_app

    return run_app(getattr(args, "source", None))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS and Path(argv[0]).exists():
        argv.insert(0, "gui")  # `hrnet-studio clip.mp4` opens the clip in the app
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return cmd_gui(args)
        return args.func(args)
    except StudioError as exc:
        say(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        say("interrupted: nothing was written")
        return EXIT_INTERRUPTED
    except Exception as exc:  # never show a traceback to a user; HRNET_STUDIO_DEBUG=1 shows it
        if os.environ.get("HRNET_STUDIO_DEBUG"):
            raise
        say(f"error: unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
            f"(set HRNET_STUDIO_DEBUG=1 for details)")
        return 1
