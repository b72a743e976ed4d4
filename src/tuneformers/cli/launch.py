"""``tuneformers <command> --nproc_per_node M [--nnodes N --rdzv_endpoint HOST:PORT]``: run the command in M
processes per machine by re-launching it through torchrun (``python -m torch.distributed.run``).

On one machine the processes meet by themselves (``--standalone``). On several, the same command is started on
every machine with the same ``--rdzv_endpoint`` (a host:port of the first machine that all can reach); they meet
through c10d rendezvous and each gets its ranks. The output folder must be on storage every machine sees.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence

from .common import CLIError

LAUNCH_FLAGS = ("--nproc_per_node", "--nnodes", "--rdzv_endpoint", "--rdzv_id")


def add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Several processes or machines (re-launches the command through torchrun)")
    group.add_argument("--nproc_per_node", type=int, default=None, metavar="M",
                       help="Run M training processes on this machine (one per GPU, or CPU processes with gloo).")
    group.add_argument("--nnodes", type=int, default=1, metavar="N",
                       help="Number of machines; start the same command on each (default: 1).")
    group.add_argument("--rdzv_endpoint", default=None, metavar="HOST:PORT",
                       help="Where the machines meet: a host:port of the first machine (needed with --nnodes > 1).")
    group.add_argument("--rdzv_id", default="tuneformers", metavar="ID",
                       help="Job id, the same on every machine of one job (default: tuneformers).")


def under_launcher() -> bool:
    """True inside a process torchrun started."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def launch_wanted(argv: Sequence[str]) -> bool:
    return not under_launcher() and any(arg == "--nproc_per_node" or arg.startswith("--nproc_per_node=")
                                        for arg in argv)


def relaunch(argv: Sequence[str]) -> int:
    """Run ``tuneformers <argv>`` under torchrun with the launch flags taken out of ``argv``; its exit code."""
    flags = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    add_launch_arguments(flags)
    launch, rest = flags.parse_known_args(argv)
    if launch.nproc_per_node < 1 or launch.nnodes < 1:
        raise CLIError(f"--nproc_per_node ({launch.nproc_per_node}) and --nnodes ({launch.nnodes}) must be at least 1.")
    if launch.nnodes > 1 and not launch.rdzv_endpoint:
        raise CLIError(f"--nnodes {launch.nnodes} needs --rdzv_endpoint HOST:PORT: an address of the first machine "
                       "that every machine can reach (e.g. --rdzv_endpoint 10.0.0.1:29400), the same on each.")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(launch.nproc_per_node),
               "--max_restarts", "0"]
    if launch.nnodes == 1 and not launch.rdzv_endpoint:
        command.append("--standalone")
    else:
        command += ["--nnodes", str(launch.nnodes), "--rdzv_backend", "c10d", "--rdzv_endpoint",
                    launch.rdzv_endpoint, "--rdzv_id", launch.rdzv_id]
    command += ["-m", "tuneformers", *rest]
    print(f"tuneformers: launching {launch.nproc_per_node} process(es) per machine on {launch.nnodes} machine(s) "
          "through torchrun", file=sys.stderr, flush=True)
    return subprocess.call(command)
