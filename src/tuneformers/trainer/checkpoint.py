"""Checkpoint folders: write atomically, read without executing pickled code, rotate.

A checkpoint ``<output_dir>/checkpoint-<step>/`` holds::

    model.safetensors (+ config.json)   weights, via the model's save_pretrained when it has one
    optimizer.pt, scheduler.pt          state dicts (tensors and numbers; read with weights_only=True)
    scaler.pt                           fp16 GradScaler state, when used
    rng_state.safetensors               torch CPU/CUDA RNG state of every process (rank_<r>.<name>)
    rng_state.json                      python and numpy RNG state of every process
    trainer_state.json                  TrainerState: step, epoch, sampler position, log history, best metric
    training_args.json                  the TrainingArguments, for the record

Everything is first written to a hidden temporary sibling folder which is then renamed, so a
process killed mid-save leaves the previous checkpoints intact and no half-written one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..utils import atomic_directory, get_logger
from ..constants import (CHECKPOINT_PREFIX, PT_WEIGHT_FILES, OPTIMIZER_NAME, RNG_JSON_NAME, RNG_TENSORS_NAME, SAFE_WEIGHTS_NAME,
                         SCALER_NAME, SCHEDULER_NAME, TRAINER_STATE_NAME, TRAINING_ARGS_NAME)
from ..trainer_utils import list_checkpoints
from .callbacks import TrainerState

logger = get_logger(__name__)

def save_model_weights(model: torch.nn.Module, folder: Path) -> None:
    """The model's own save_pretrained when it has one, else a safetensors file of its state_dict."""
    if hasattr(model, "save_pretrained"):
        model.save_pretrained(folder)
        return
    from safetensors.torch import save_model

    save_model(model, str(folder / SAFE_WEIGHTS_NAME))


def load_model_weights(model: torch.nn.Module, folder: Path) -> None:
    """Load model.safetensors from ``folder`` in place; tied weights may be absent from the file."""
    path = folder / SAFE_WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{folder} has no {SAFE_WEIGHTS_NAME}; it is not a checkpoint written by the Trainer.")
    device = next(model.parameters()).device
    state = load_file(str(path), device=str(device))
    missing, unexpected = model.load_state_dict(state, strict=False)
    loaded = {tensor.data_ptr() for name, tensor in model.state_dict().items() if name in state}
    own = model.state_dict()
    missing = [name for name in missing if own[name].data_ptr() not in loaded]
    if missing or unexpected:
        raise RuntimeError(
            f"{path} does not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}. "
            "Resume with the same model class and config that wrote the checkpoint."
        )


def save_checkpoint(
    folder: Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
    state: TrainerState,
    args_json: str,
    rng_states: list[tuple[dict[str, torch.Tensor], dict[str, Any]]],
) -> None:
    """Write one checkpoint atomically (call on rank 0 only; ``rng_states`` holds every rank's)."""
    with atomic_directory(folder) as temp:
        temp.chmod(0o755)  # mkdtemp makes it private; checkpoints are shared like any output
        save_model_weights(model, temp)
        torch.save(optimizer.state_dict(), temp / OPTIMIZER_NAME)
        torch.save(scheduler.state_dict(), temp / SCHEDULER_NAME)
        if scaler is not None:
            torch.save(scaler.state_dict(), temp / SCALER_NAME)
        tensors = {f"rank_{rank}.{name}": value.contiguous() for rank, (states, _) in enumerate(rng_states)
                   for name, value in states.items()}
        save_file(tensors, str(temp / RNG_TENSORS_NAME))
        (temp / RNG_JSON_NAME).write_text(json.dumps([plain for _, plain in rng_states]), encoding="utf-8")
        (temp / TRAINING_ARGS_NAME).write_text(args_json, encoding="utf-8")
        state.save_to_json(temp / TRAINER_STATE_NAME)


def load_training_state(folder: Path, optimizer, scheduler, scaler, rank: int) -> tuple[TrainerState, tuple]:
    """Load optimizer/scheduler/scaler in place; return the TrainerState and this rank's RNG state."""
    device = next(iter(optimizer.param_groups[0]["params"])).device
    optimizer.load_state_dict(torch.load(folder / OPTIMIZER_NAME, map_location=device, weights_only=True))
    scheduler.load_state_dict(torch.load(folder / SCHEDULER_NAME, weights_only=True))
    if scaler is not None and (folder / SCALER_NAME).is_file():
        scaler.load_state_dict(torch.load(folder / SCALER_NAME, weights_only=True))
    state = TrainerState.load_from_json(folder / TRAINER_STATE_NAME)
    tensors = load_file(str(folder / RNG_TENSORS_NAME))
    plains = json.loads((folder / RNG_JSON_NAME).read_text(encoding="utf-8"))
    if rank >= len(plains):
        raise RuntimeError(
            f"{folder} was written by {len(plains)} process(es) but this is rank {rank}; "
            "resume with the same number of processes."
        )
    prefix = f"rank_{rank}."
    mine = {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}
    return state, (mine, plains[rank])


def has_model_weights(folder: Path) -> bool:
    """True when ``folder`` holds weights save_pretrained wrote (safetensors or pytorch_model.bin, sharded or not)."""
    return any((folder / name).is_file() for name in PT_WEIGHT_FILES)


def last_checkpoint(output_dir: str | Path) -> Path | None:
    checkpoints = list_checkpoints(output_dir)
    return checkpoints[-1] if checkpoints else None


def rotate_checkpoints(output_dir: str | Path, limit: int | None, best: str | None) -> list[Path]:
    """Delete the oldest checkpoints beyond ``limit``, never the best nor the newest; return those deleted.

    With limit=1 and a best checkpoint that is not the newest, two are kept (the best, and the newest
    to resume from). Stray temporary folders of interrupted saves are removed too.
    """
    output_dir = Path(output_dir)
    for stray in output_dir.glob(f".{CHECKPOINT_PREFIX}-*.tmp"):
        shutil.rmtree(stray, ignore_errors=True)
    if limit is None:
        return []
    checkpoints = list_checkpoints(output_dir)
    best_path = Path(best).resolve() if best else None
    deletable = [path for path in checkpoints[:-1] if path.resolve() != best_path]
    excess = len(checkpoints) - max(limit, 1 + (best_path is not None and checkpoints[-1].resolve() != best_path))
    deleted = deletable[: max(excess, 0)]
    for path in deleted:
        logger.info(f"Deleting older checkpoint {path} (save_total_limit={limit}).")
        shutil.rmtree(path, ignore_errors=True)
    return deleted
