"""Checkpoint folders: write atomically, read without executing pickled code, rotate.

A checkpoint ``<output_dir>/checkpoint-<step>/`` holds::

    model.safetensors (+ config.json)   weights, via the model's save_pretrained when it has one
    optimizer.pt, scheduler.pt          state dicts (tensors and numbers; read with weights_only=True)
    scaler.pt                           fp16 GradScaler state, when used
    rng_state.safetensors               torch CPU/CUDA RNG state of every process (rank_<r>.<name>)
    rng_state.json                      python and numpy RNG state of every process
    trainer_state.json                  TrainerState: step, epoch, sampler position, log history, best metric
    training_args.json                  the TrainingArguments, for the record

Everything is first written to a hidden temporary sibling folder, fsynced, then renamed, so a
process killed mid-save leaves the previous checkpoints intact and no half-written one. Only finite
weights are saved (trainer_state.json records ``weights_finite``). Every read names the file that
failed and what to do; pickles are read with ``weights_only=True`` and refused otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..utils import atomic_directory, get_logger, replace_directory
from ..constants import (CHECKPOINT_PREFIX, PT_WEIGHT_FILES, OPTIMIZER_NAME, RNG_JSON_NAME, RNG_TENSORS_NAME, SAFE_WEIGHTS_NAME,
                         SCALER_NAME, SCHEDULER_NAME, TRAINER_STATE_NAME, TRAINING_ARGS_NAME)
from ..modeling_tf_pytorch_utils import load_torch_pickle
from ..trainer_utils import list_checkpoints
from .callbacks import TrainerState
from .training_args import RESUME_ADJUSTABLE_FIELDS, RESUME_FIXED_FIELDS, TrainingArguments

logger = get_logger(__name__)

_DAMAGED = "resume from another checkpoint, or delete this one"
_FOREIGN_FILES = ("training_args.bin", "rng_state.pth")  # what HF transformers' Trainer writes instead
SHARDED_MARKER = "sharded_checkpoint.txt"  # in a checkpoint written with fsdp (its state is in sharded/)


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be resumed (damaged, foreign, unsafe, or not matching this run)."""


class NoSpaceError(OSError):
    """The disk filled up while a checkpoint was written."""

def save_model_weights(model: torch.nn.Module, folder: Path, state_dict: dict[str, torch.Tensor] | None = None) -> None:
    """The model's own save_pretrained when it has one, else a safetensors file of its state_dict (``state_dict``
    instead of the model's own: the gathered weights of a sharded model)."""
    if hasattr(model, "save_pretrained"):
        model.save_pretrained(folder, state_dict=state_dict)
        return
    from safetensors.torch import save_file, save_model

    if state_dict is None:
        save_model(model, str(folder / SAFE_WEIGHTS_NAME))
    else:
        save_file({key: value.contiguous() for key, value in state_dict.items()}, str(folder / SAFE_WEIGHTS_NAME))


def weights_are_finite(model: torch.nn.Module) -> bool:
    """True when no parameter holds a NaN or an infinity (one host sync)."""
    local = [p.to_local() if hasattr(p, "to_local") else p for p in model.parameters()]  # this process's shards
    checks = [torch.isfinite(p).all() for p in local if p.is_floating_point() and p.numel()]
    return bool(torch.stack(checks).all()) if checks else True


def load_model_weights(model: torch.nn.Module, folder: Path) -> None:
    """Load model.safetensors from ``folder`` in place; tied weights may be absent from the file."""
    path = folder / SAFE_WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{folder} has no {SAFE_WEIGHTS_NAME}; it is not a checkpoint written by the Trainer.")
    device = next(model.parameters()).device
    try:
        state = load_file(str(path), device=str(device))
    except Exception as error:  # safetensors raises its own SafetensorError for truncated or garbled files
        raise CheckpointError(f"{path} is truncated or damaged ({error}); {_DAMAGED}.") from None
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
    """Write one checkpoint atomically and durably (call on rank 0 only; ``rng_states`` holds every rank's).

    The caller checks ``weights_are_finite`` first; a full disk raises NoSpaceError naming the device.
    """
    with _disk_full_named(folder), atomic_directory(folder) as temp:
        temp.chmod(0o755)  # mkdtemp makes it private; checkpoints are shared like any output
        save_model_weights(model, temp)
        torch.save(optimizer.state_dict(), temp / OPTIMIZER_NAME)
        _write_training_files(temp, scheduler, scaler, state, args_json, rng_states)


def save_sharded_checkpoint(
    folder: Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
    state: TrainerState,
    args_json: str,
    rng_states: list[tuple[dict[str, torch.Tensor], dict[str, Any]]] | None,
    rank: int,
) -> None:
    """Write one checkpoint whose model and optimizer state every process writes its shard of (call on every
    process; ``rng_states`` on rank 0). All shards go into one temporary folder that rank 0 completes and
    renames once every process has finished: a checkpoint folder is whole, or absent."""
    from .distributed import all_true, barrier, save_sharded

    temp = folder.with_name(f".{folder.name}.sharded.tmp")
    with _disk_full_named(folder):
        if rank == 0:
            shutil.rmtree(temp, ignore_errors=True)
            temp.mkdir(parents=True)
        barrier()
        save_sharded(temp, model, optimizer)  # each process writes and fsyncs its own file
        device, ok = next(model.parameters()).device, True
        if rank == 0:
            try:
                config = getattr(model, "config", None)
                if config is not None and hasattr(config, "save_pretrained"):
                    config.save_pretrained(temp)
                (temp / SHARDED_MARKER).write_text("torch.distributed.checkpoint\n", encoding="utf-8")
                _write_training_files(temp, scheduler, scaler, state, args_json, rng_states or [])
                replace_directory(temp, folder)
            except BaseException:
                ok = False
                raise
            finally:
                all_true(ok, device)
        elif not all_true(True, device):
            raise CheckpointError(f"Rank 0 failed to complete {folder}; see its error.")
        barrier()


def is_sharded_checkpoint(folder: Path) -> bool:
    """True for a checkpoint written with fsdp (model and optimizer state in torch.distributed.checkpoint files)."""
    return (folder / SHARDED_MARKER).is_file()


def _write_training_files(temp: Path, scheduler: Any, scaler: Any, state: TrainerState, args_json: str,
                          rng_states: list[tuple[dict[str, torch.Tensor], dict[str, Any]]]) -> None:
    torch.save(scheduler.state_dict(), temp / SCHEDULER_NAME)
    if scaler is not None:
        torch.save(scaler.state_dict(), temp / SCALER_NAME)
    tensors = {f"rank_{rank}.{name}": value.contiguous() for rank, (states, _) in enumerate(rng_states)
               for name, value in states.items()}
    save_file(tensors, str(temp / RNG_TENSORS_NAME))
    (temp / RNG_JSON_NAME).write_text(json.dumps([plain for _, plain in rng_states]), encoding="utf-8")
    (temp / TRAINING_ARGS_NAME).write_text(args_json, encoding="utf-8")
    state.save_to_json(temp / TRAINER_STATE_NAME)


@contextlib.contextmanager
def _disk_full_named(folder: Path) -> Iterator[None]:
    """Turn a full disk while writing ``folder`` into NoSpaceError naming the device and the fix."""
    try:
        yield
    except (OSError, RuntimeError) as error:
        if not _is_disk_full(error, folder.parent):
            raise
        raise NoSpaceError(
            errno.ENOSPC, f"No space left on {_mount_point(folder.parent)} while writing {folder.name} (nothing was "
            f"kept of it; the earlier checkpoints are intact). Free some space, set save_total_limit, or choose an "
            "output_dir on another disk, then resume.") from None


def _is_disk_full(error: BaseException, folder: Path) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    # torch.save reports a failed write as "[enforce fail at inline_container.cc] ... file write failed"
    if isinstance(error, RuntimeError) and ("file write failed" in str(error) or "inline_container" in str(error)):
        return shutil.disk_usage(folder).free < 64 * 2**20
    return False


def _mount_point(path: Path) -> str:
    path = path.resolve()
    while not os.path.ismount(path) and path.parent != path:
        path = path.parent
    return str(path)


def read_trainer_state(folder: Path) -> TrainerState:
    """The TrainerState of a checkpoint folder; a foreign or damaged one raises CheckpointError naming the file."""
    if not (folder / RNG_TENSORS_NAME).is_file() and any((folder / name).is_file() for name in _FOREIGN_FILES):
        raise CheckpointError(
            f"{folder} is a checkpoint written by another library (Hugging Face transformers' Trainer: it has "
            f"{' / '.join(n for n in _FOREIGN_FILES if (folder / n).is_file())}), so its optimizer and RNG state "
            f"cannot be resumed here. Load its weights with from_pretrained({str(folder)!r}) (or pass the folder as "
            "the model to start from) and train from step 0.")
    try:
        return TrainerState.load_from_json(folder / TRAINER_STATE_NAME)
    except ValueError as error:
        raise CheckpointError(str(error)) from None


def check_best_model_checkpoint(state: TrainerState, folder: Path, output_dir: str | Path) -> None:
    """Refuse a best_model_checkpoint outside the output folder (or the resumed checkpoint's folder)."""
    best = state.best_model_checkpoint
    if best is None:
        return
    roots = {Path(output_dir).resolve(), folder.resolve().parent}
    resolved = Path(best).resolve()
    if resolved.parent not in roots or not resolved.name.startswith(f"{CHECKPOINT_PREFIX}-"):
        raise CheckpointError(
            f"{folder / TRAINER_STATE_NAME}: best_model_checkpoint={best!r} is not a checkpoint folder of "
            f"{Path(output_dir)}; refusing to load weights from outside the output folder. Set it to one of the "
            "run's checkpoint-<step> folders, or to null.")


def saved_training_args(folder: Path) -> dict[str, Any] | None:
    """The training_args.json of a checkpoint as a dict; None when the file is absent."""
    path = folder / TRAINING_ARGS_NAME
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}); {_DAMAGED}.") from None
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path} must hold a JSON object; {_DAMAGED}.")
    return saved


def resume_changes(saved: dict[str, Any], args: TrainingArguments) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """({field: (saved, new)} that take effect on resume, {field: (saved, new)} that cannot)."""
    def changed(names):
        return {name: (saved[name], getattr(args, name)) for name in names
                if name in saved and saved[name] != getattr(args, name)}
    return changed(RESUME_ADJUSTABLE_FIELDS), changed(RESUME_FIXED_FIELDS)


def load_training_state(folder: Path, optimizer, scheduler, scaler, rank: int) -> tuple[dict, dict]:
    """Load optimizer (unless sharded: see distributed.load_sharded), scheduler and scaler in place; return this
    rank's RNG state (tensors, plain): rank 0's when fewer processes wrote the checkpoint."""
    if not is_sharded_checkpoint(folder):
        optimizer.load_state_dict(_load_pickle(folder / OPTIMIZER_NAME))
    scheduler.load_state_dict(_load_pickle(folder / SCHEDULER_NAME))
    if scaler is not None and (folder / SCALER_NAME).is_file():
        scaler.load_state_dict(_load_pickle(folder / SCALER_NAME))
    try:
        tensors = load_file(str(folder / RNG_TENSORS_NAME))
    except Exception as error:  # SafetensorError, FileNotFoundError
        raise CheckpointError(f"{folder / RNG_TENSORS_NAME} is missing or damaged ({error}); {_DAMAGED}.") from None
    path = folder / RNG_JSON_NAME
    try:
        plains = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is missing, empty or not valid JSON ({error}); {_DAMAGED}.") from None
    if not isinstance(plains, list) or not all(isinstance(p, dict) and {"python", "numpy"} <= p.keys() for p in plains):
        raise CheckpointError(f"{path} must be a list of per-process objects with 'python' and 'numpy' RNG states; "
                              f"{_DAMAGED}.")
    if rank >= len(plains):  # resumed on more processes: a fresh run seeds every process alike, so take rank 0's
        logger.info(f"{folder} was written by {len(plains)} process(es); rank {rank} continues from rank 0's RNG state.")
        rank = 0
    prefix = f"rank_{rank}."
    mine = {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}
    return mine, plains[rank]


def _load_pickle(path: Path) -> Any:
    """A trainer pickle (optimizer, scheduler, scaler) through the one safe loader; a refused or damaged file raises
    CheckpointError naming it."""
    if not path.is_file():
        raise CheckpointError(f"{path} is missing; {_DAMAGED}.")
    try:
        return load_torch_pickle(path)
    except OSError as error:
        raise CheckpointError(f"{error} The Trainer never writes such a file: {_DAMAGED}.") from None


def has_model_weights(folder: Path) -> bool:
    """True when ``folder`` holds weights save_pretrained wrote (safetensors or pytorch_model.bin, sharded or not)."""
    return any((folder / name).is_file() for name in PT_WEIGHT_FILES)


def last_checkpoint(output_dir: str | Path) -> Path | None:
    checkpoints = list_checkpoints(output_dir)
    return checkpoints[-1] if checkpoints else None


def last_good_checkpoint(output_dir: str | Path, max_step: int) -> Path | None:
    """The newest checkpoint up to ``max_step`` whose weights were verified finite when it was written.

    The caller passes the step before the one that failed: a checkpoint counts as good only when one finite
    step was trained from its weights, so the one written just before a blow-up (finite, yet it gave the
    non-finite loss) is never named.
    """
    for folder in reversed(list_checkpoints(output_dir)):
        if int(folder.name.rsplit("-", 1)[1]) > max_step:
            continue
        try:
            if TrainerState.load_from_json(folder / TRAINER_STATE_NAME).weights_finite:
                return folder
        except ValueError:
            continue
    return None


def rotate_checkpoints(output_dir: str | Path, limit: int | None, best: str | None) -> list[Path]:
    """Delete the oldest checkpoints beyond ``limit``, never the best nor the newest; return those deleted.

    With limit=1 and a best checkpoint that is not the newest, two are kept (the best, and the newest
    to resume from). Leftovers of interrupted saves are removed at the start of a run (output_folder.clean_debris).
    """
    if limit is None:
        return []
    checkpoints = list_checkpoints(output_dir)
    best_path = Path(best).resolve() if best else None
    deletable = [path for path in checkpoints[:-1] if path.resolve() != best_path]
    excess = len(checkpoints) - max(limit, 1 + (best_path is not None and checkpoints[-1].resolve() != best_path))
    deleted = deletable[: max(excess, 0)]
    for path in deleted:
        logger.info(f"Deleting older checkpoint {path} (save_total_limit={limit}).")
        _delete_checkpoint(path)
    return deleted


def _delete_checkpoint(path: Path) -> None:
    """Rename to a hidden .tmp name first, so a kill mid-delete leaves debris clean_debris knows, not a half folder."""
    doomed = path.with_name(f".{path.name}.deleting.tmp")
    os.replace(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
