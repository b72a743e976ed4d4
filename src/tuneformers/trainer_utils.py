"""What the PyTorch Trainer, the TFTrainer and user scripts share, without importing a framework:
the result tuples of train / evaluate / predict, and where the checkpoints of a run are.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .constants import CHECKPOINT_PREFIX, IGNORE_INDEX, TRAINER_STATE_NAME


class EvalPrediction(NamedTuple):
    """What ``compute_metrics`` receives: host numpy arrays (tuples of them for several outputs)."""

    predictions: np.ndarray | tuple[np.ndarray, ...]
    label_ids: np.ndarray | tuple[np.ndarray, ...] | None


class PredictionOutput(NamedTuple):
    predictions: np.ndarray | tuple[np.ndarray, ...] | None
    label_ids: np.ndarray | tuple[np.ndarray, ...] | None
    metrics: dict[str, float]


class TrainOutput(NamedTuple):
    global_step: int
    training_loss: float
    metrics: dict[str, Any]
    """Trainer: the run's summary metrics. TFTrainer: Keras' per-epoch history (loss and val_* lists)."""


def list_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoint folders (``checkpoint-<step>`` whose trainer state parses) in ``output_dir``, oldest first."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = []
    for path in output_dir.iterdir():
        match = re.fullmatch(rf"{CHECKPOINT_PREFIX}-(\d+)", path.name)
        if match and path.is_dir() and _parses_as_object(path / TRAINER_STATE_NAME):
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


def _parses_as_object(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def get_last_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """The newest complete checkpoint folder of ``output_dir`` as a string, or None (HF scripts' spelling)."""
    checkpoints = list_checkpoints(output_dir)
    return str(checkpoints[-1]) if checkpoints else None


def is_main_process(local_rank: int) -> bool:
    """True in the process that logs and saves: rank -1 (not distributed) or 0."""
    return local_rank in (-1, 0)


def concat_rows(parts: list[Any]) -> Any:
    """Concatenate per-batch arrays along rows (tuples and dicts of them field by field); later axes that
    differ between batches (token dimensions) are padded with IGNORE_INDEX. None parts are skipped."""
    parts = [part for part in parts if part is not None]
    if not parts:
        return None
    first = parts[0]
    if isinstance(first, (tuple, list)):
        return tuple(concat_rows([part[index] for part in parts]) for index in range(len(first)))
    if isinstance(first, dict):
        return {key: concat_rows([part[key] for part in parts]) for key in first}
    if first.ndim <= 1 or all(part.shape[1:] == first.shape[1:] for part in parts):
        return np.concatenate(parts)
    shape = [max(part.shape[axis] for part in parts) for axis in range(1, first.ndim)]
    out = np.full((sum(len(part) for part in parts), *shape), IGNORE_INDEX, dtype=first.dtype)
    row = 0
    for part in parts:
        out[(slice(row, row + len(part)), *[slice(0, size) for size in part.shape[1:]])] = part
        row += len(part)
    return out
