"""The ``tuneformers`` command: ``train``, ``evaluate``, ``predict``, ``pretrain``, ``train-tokenizer``,
``fill-mask``, ``plot`` and ``env``.

Bad input (a missing file, a wrong column, unusable labels, an empty file, a model folder without
weights, ...) ends with one line saying what is wrong and how to fix it, and exit code 2; other
failures print one line and exit 1. ``--debug`` adds the traceback. ``--nproc_per_node M`` (and ``--nnodes``,
``--rdzv_endpoint``) runs a command in several processes through torchrun (launch.py); then only rank 0 prints.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from . import env, evaluate, fill_mask, plot, predict, pretrain, train, train_tokenizer
from .launch import add_launch_arguments, launch_wanted, relaunch, under_launcher
from ..data.readers import DataError

SUBCOMMANDS = (train, evaluate, predict, pretrain, train_tokenizer, fill_mask, plot, env)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    add_launch_arguments(shared)
    parser = argparse.ArgumentParser(
        prog="tuneformers", parents=[shared], allow_abbrev=False,
        description="Fine-tune pretrained transformers on your text files, then evaluate and predict.",
        epilog="Run `tuneformers <command> --help` for the options of a command.")
    parser.add_argument("--version", action="version", version=f"tuneformers {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers, [shared])
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv``; with ``--config FILE`` its values become defaults and ``argv`` is parsed again."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "config", None):
        values = train.load_config(args.config, args.command_parser)
        args.command_parser.set_defaults(**values)
        args = parser.parse_args(argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    command = "tuneformers"
    if under_launcher() and os.environ.get("RANK", "0") != "0":
        sys.stdout = open(os.devnull, "w")  # one process reports (errors still reach stderr)
    try:
        if launch_wanted(argv):
            return relaunch(argv)
        args = parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 2
        command = f"tuneformers {args.command}"
        return args.run(args)
    except SystemExit as exit_:  # argparse: --help, --version, usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    except DataError as error:  # CLIError included: bad input, one line
        if debug:
            traceback.print_exc()
        print(f"{command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - one line for the user, the traceback on request
        if debug:
            traceback.print_exc()
        message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        hint = "" if debug else " (run again with --debug for the traceback)"
        print(f"{command}: error: {type(error).__name__}: {message}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
