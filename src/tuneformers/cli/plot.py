"""``tuneformers plot``: training loss, learning rate and held-out metrics per step, as a PNG.

Drawn on a bare matplotlib ``Figure`` with the Agg canvas: no pyplot, no display, no global backend.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..constants import TRAINER_STATE_NAME
from .common import CLIError

# Logged keys that are bookkeeping, not metrics worth a curve.
_NOT_METRICS = ("_runtime", "_samples_per_second", "_steps_per_second", "_loss")


def plot_training(log_history: list[dict[str, Any]], path: Path, title: str | None = None) -> Path:
    """Write a three-panel PNG of ``log_history`` (TrainerState.log_history) to ``path``."""
    from ..utils import atomic_path, require

    require("matplotlib", "train", "The training plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    train = [logs for logs in log_history if "loss" in logs and "learning_rate" in logs]
    evals = [logs for logs in log_history if "eval_loss" in logs]
    metric_names = sorted({key for logs in evals for key in logs
                           if key.startswith("eval_") and not key.endswith(_NOT_METRICS)})

    figure = Figure(figsize=(13, 4), dpi=100)
    FigureCanvasAgg(figure)
    loss_axes, lr_axes, metric_axes = figure.subplots(1, 3)
    if train:
        loss_axes.plot([l["step"] for l in train], [l["loss"] for l in train], label="training loss", color="C0")
        lr_axes.plot([l["step"] for l in train], [l["learning_rate"] for l in train], color="C2")
    if evals:
        loss_axes.plot([l["step"] for l in evals], [l["eval_loss"] for l in evals], "o-", label="held-out loss",
                       color="C1")
    loss_axes.set(title="Loss", xlabel="step")
    loss_axes.legend(loc="upper right")
    lr_axes.set(title="Learning rate", xlabel="step")
    lr_axes.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    if "eval_perplexity" in metric_names:  # language models: its own log-scale axis (it falls by orders of magnitude)
        metric_names.remove("eval_perplexity")
        points = [(l["step"], l["eval_perplexity"]) for l in evals if l.get("eval_perplexity") is not None]
        perplexity_axes = metric_axes.twinx()
        perplexity_axes.plot(*zip(*points), "s--", color="C7", label="perplexity (right, log)")
        perplexity_axes.set_yscale("log")
        perplexity_axes.legend(loc="upper right")
    for index, name in enumerate(metric_names):
        points = [(l["step"], l[name]) for l in evals if l.get(name) is not None]
        metric_axes.plot(*zip(*points), "o-", label=name.removeprefix("eval_"), color=f"C{index + 3}")
    if metric_names:
        metric_axes.legend(loc="lower right")
    else:
        metric_axes.text(0.5, 0.5, "no held-out evaluation", ha="center", va="center", transform=metric_axes.transAxes)
    metric_axes.set(title="Held-out metrics", xlabel="step")
    for axes in (loss_axes, lr_axes, metric_axes):
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        figure.savefig(temp, format="png")
    return path


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("plot", parents=parents, help="redraw the training plot of a run folder",
                                   description="Plot loss, learning rate and held-out metrics from the "
                                               "trainer_state.json of a `tuneformers train` output folder.")
    parser.add_argument("run_dir", help="output_dir of `tuneformers train` (or a checkpoint folder)")
    parser.add_argument("--output", default=None, help="PNG to write (default: <run_dir>/training_plot.png)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    state_file = Path(args.run_dir) / TRAINER_STATE_NAME
    if not state_file.is_file():
        raise CLIError(f"{args.run_dir} has no trainer_state.json; pass the output_dir of `tuneformers train`.")
    try:
        history = json.loads(state_file.read_text(encoding="utf-8"))["log_history"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise CLIError(f"{state_file} is not a trainer state file ({error}).") from None
    path = plot_training(history, Path(args.output) if args.output else Path(args.run_dir) / "training_plot.png",
                         title=Path(args.run_dir).name)
    print(path)
    return 0
