"""``tuneformers env``: versions and hardware, to paste into a bug report."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
from typing import Any

# distribution name -> what it is to tuneformers
PACKAGES = {
    "torch": "required",
    "numpy": "required",
    "tokenizers": "required",
    "safetensors": "required",
    "huggingface_hub": "required",
    "tqdm": "required",
    "tensorflow": "extra tf",
    "tensorflow-cpu": "extra tf",
    "keras": "extra tf",
    "scikit-learn": "extra train",
    "scipy": "extra train",
    "matplotlib": "extra train",
    "tensorboard": "extra train",
    "pyyaml": "extra train",
    "transformers": "test oracle only",
}


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect() -> dict[str, Any]:
    """The report as a dict (torch is imported for its build and device info; tensorflow is not)."""
    import tuneformers

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info: dict[str, Any] = {
        "tuneformers": tuneformers.__version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "cpu": f"{_cpu_name()}, {os.cpu_count()} logical cores, {usable} usable by this process",
    }
    try:
        import psutil

        info["memory"] = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        pass
    for distribution, role in PACKAGES.items():
        version = _version(distribution)
        if version is not None or role == "required":
            info[distribution] = f"{version or 'NOT INSTALLED'} ({role})"
    if not any(key.startswith("tensorflow") for key in info):
        info["tensorflow"] = "not installed (extra tf)"
    info.update(_torch_devices())
    return info


def _torch_devices() -> dict[str, str]:
    try:
        import torch
    except ImportError:
        return {"accelerator": "unknown (torch is not installed)"}
    info = {"torch threads": str(torch.get_num_threads())}
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
        info["cuda"] = f"{torch.version.cuda}, {len(names)} device(s): {', '.join(names)}"
    else:
        info["cuda"] = f"not available (torch built with CUDA {torch.version.cuda})" if torch.version.cuda \
            else "not available (CPU-only torch build)"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        info["mps"] = "available"
    return info


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("env", parents=parents, help="print versions and hardware for bug reports",
                                   description="Print versions and hardware, to paste into a bug report.")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a list")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        width = max(map(len, info))
        print("\n".join(f"- {key.ljust(width)}  {value}" for key, value in info.items()))
    return 0
