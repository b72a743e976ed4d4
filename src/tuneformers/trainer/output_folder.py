"""The output folder of a run: one run at a time, one timeline, no debris. No torch.

- ``output_folder_lock``: an advisory lock held for the whole run (Trainer.train, the ``tuneformers train``
  command). The lock file is a sibling, ``.<folder name>.lock``, so the folder itself can be swapped
  (see ``swap_in_folder``; inside the folder when its parent is read-only); it holds the holder's host,
  pid and start time. The lock is an flock, which the OS releases when its process dies, so a lock file
  left by a killed run is taken over, with a log line. Unix only (fcntl).
- ``clean_debris``: removes what an interrupted save or rotation leaves behind.
- ``set_aside_later_checkpoints``: checkpoints past the step a run starts from belong to an abandoned
  timeline; they are moved into ``abandoned-<time>/`` so rotation and ``resume_from_checkpoint=True``
  never pick them.
- ``swap_in_folder`` / ``recover_swap``: the CLI's final folder, written beside the run folder and swapped in.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import glob
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..constants import (ADDED_TOKENS_FILE, CHECKPOINT_PREFIX, CONFIG_NAME, MERGES_FILE, METRICS_NAME, PLOT_NAME,
                         SPECIAL_TOKENS_MAP_NAME, TOKENIZER_CONFIG_NAME, TOKENIZER_FILES, TRAINER_STATE_NAME,
                         TRAINING_ARGS_NAME, WEIGHT_FILES)
from ..utils import fsync_directory, fsync_tree, get_logger

logger = get_logger(__name__)

_CHECKPOINT = re.compile(rf"{CHECKPOINT_PREFIX}-(\d+)")
_held: dict[Path, int] = {}  # lock files this process holds -> nesting depth (the CLI locks, then Trainer.train)


class OutputFolderLockedError(RuntimeError):
    """Another run holds the output folder."""


def lock_path(folder: str | os.PathLike) -> Path:
    """``.<name>.lock`` beside ``folder``; inside it (``.tuneformers.lock``) when its parent is not writable."""
    folder = Path(folder).absolute()
    return folder.with_name(f".{folder.name}.lock") if parent_is_writable(folder) else folder / ".tuneformers.lock"


def parent_is_writable(folder: Path) -> bool:
    """Whether files can be created beside ``folder`` (its nearest existing ancestor is writable)."""
    parent = folder.absolute().parent
    while not parent.exists() and parent.parent != parent:
        parent = parent.parent
    return os.access(parent, os.W_OK | os.X_OK)


@contextlib.contextmanager
def output_folder_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold the advisory lock of ``folder`` (re-entrant within a process); raise OutputFolderLockedError if taken."""
    path = lock_path(folder)
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    descriptor = _acquire(path, Path(folder))
    _held[path] = 1
    try:
        yield
    finally:
        del _held[path]
        path.unlink(missing_ok=True)  # before unlocking: a waiting run then re-checks the inode (see _acquire)
        os.close(descriptor)


def _acquire(path: Path, folder: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(_read_holder(descriptor))
            os.close(descriptor)
            raise OutputFolderLockedError(
                f"output_dir {folder} is in use by another run ({holder}; lock file {path}). Wait for that run to "
                "finish, stop it, or choose another output_dir.") from None
        try:
            same_file = os.stat(path).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            same_file = False
        if same_file:
            break
        os.close(descriptor)  # the holder released and removed the file between our open and flock: retry
    previous = _read_holder(descriptor)
    if previous:
        logger.warning(f"Taking over the lock of {folder} left by a run that is gone ({_describe(previous)}).")
    me = {"host": socket.gethostname(), "pid": os.getpid(),
          "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, (json.dumps(me) + "\n").encode(), 0)
    os.fsync(descriptor)
    return descriptor


def _read_holder(descriptor: int) -> dict:
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0).decode() or "{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict) -> str:
    if not holder:
        return "holder unknown"
    return f"pid {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started')}"


# ---- debris and timelines ------------------------------------------------------------------------------


def clean_debris(folder: str | os.PathLike) -> list[str]:
    """Remove leftovers of interrupted saves and rotations in ``folder``; return what was done, each logged.

    Hidden ``.*.tmp`` files and folders (atomic writes, here and one level down), checkpoint folders without
    trainer_state.json (a rotation killed mid-delete, or never completed), and ``.checkpoint-N.old``: restored
    when its checkpoint is missing (a re-save killed between its two renames), deleted otherwise.
    Call it only while holding the folder's lock: another run's temporary files look the same.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    done = []
    for path in sorted(folder.iterdir()):
        name = path.name
        if name.startswith(".") and name.endswith(".old") and _CHECKPOINT.fullmatch(name[1:-4]):
            target = folder / name[1:-4]
            if not target.exists() and (path / TRAINER_STATE_NAME).is_file():
                os.replace(path, target)
                done.append(f"restored {target.name} from {name} (a re-save was interrupted)")
            else:
                _remove(path)
                done.append(f"deleted {name} (left by an interrupted checkpoint re-save)")
        elif name.startswith(".") and name.endswith(".tmp"):
            _remove(path)
            done.append(f"deleted {name} (an interrupted write)")
        elif _CHECKPOINT.fullmatch(name) and path.is_dir() and not (path / TRAINER_STATE_NAME).is_file():
            _remove(path)
            done.append(f"deleted {name} (incomplete: no {TRAINER_STATE_NAME})")
        elif path.is_dir() and not name.startswith("."):
            for inner in sorted(path.glob(".*.tmp")):
                _remove(inner)
                done.append(f"deleted {name}/{inner.name} (an interrupted write)")
    for line in done:
        logger.warning(f"Cleaning {folder}: {line}.")
    return done


def set_aside_later_checkpoints(folder: str | os.PathLike, start_step: int) -> Path | None:
    """Move ``checkpoint-N`` folders with N > ``start_step`` into ``abandoned-<UTC time>/``; return that folder."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    later = sorted((int(match.group(1)), path) for path in folder.iterdir()
                   if (match := _CHECKPOINT.fullmatch(path.name)) and path.is_dir() and int(match.group(1)) > start_step)
    if not later:
        return None
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    aside, number = folder / f"abandoned-{stamp}", 1
    while aside.exists():
        number += 1
        aside = folder / f"abandoned-{stamp}-{number}"
    aside.mkdir()
    for _, path in later:
        os.replace(path, aside / path.name)
    fsync_directory(folder)
    logger.warning(f"This run continues from step {start_step}, so {', '.join(p.name for _, p in later)} belong to "
                   f"an abandoned run: moved to {aside}. Delete that folder when you no longer need it.")
    return aside


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# ---- a run folder written as one unit (the CLI) -----------------------------------------------------------


def new_folder_beside(folder: Path) -> Path:
    """An empty hidden sibling of ``folder`` to write a run's final files into (see ``swap_in_folder``)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{folder.name}.final-", suffix=".tmp", dir=folder.parent))


# What a final save writes (the model, tokenizer, metrics): these belong to one run and are never carried over.
_FINAL_FILE = re.compile("|".join([*map(re.escape, (*WEIGHT_FILES, CONFIG_NAME, TOKENIZER_CONFIG_NAME,
                                                    SPECIAL_TOKENS_MAP_NAME, ADDED_TOKENS_FILE, MERGES_FILE,
                                                    *TOKENIZER_FILES, METRICS_NAME, PLOT_NAME, TRAINER_STATE_NAME,
                                                    TRAINING_ARGS_NAME, "all_results.json")),
                                   r"(model|pytorch_model)-\d+-of-\d+\.(safetensors|bin)", r"\w+_results\.json",
                                   r".*\.model"]))


def is_final_file(name: str) -> bool:
    return bool(_FINAL_FILE.fullmatch(name))


def swap_in_folder(new: Path, folder: Path) -> None:
    """Make ``new`` (a complete sibling of ``folder``) the folder, as one unit.

    ``new`` is fsynced and renamed ``.<name>.new``; the old folder becomes ``.<name>.old``; ``.<name>.new``
    becomes the folder. Then what the old folder holds besides a final save (checkpoints, logs, the user's
    own files) moves in, and the old final files are deleted. A kill at any point leaves the old run or the
    new one, never a mix, and ``recover_swap`` finishes the job.
    """
    fsync_tree(new)
    ready, old = folder.with_name(f".{folder.name}.new"), folder.with_name(f".{folder.name}.old")
    os.replace(new, ready)
    fsync_directory(folder.parent)
    if folder.exists():
        os.replace(folder, old)
    os.replace(ready, folder)
    fsync_directory(folder.parent)
    _carry_over(old, folder)


def _carry_over(old: Path, folder: Path) -> None:
    if old.is_dir():
        for path in old.iterdir():
            if not is_final_file(path.name) and not path.name.startswith(".") and not (folder / path.name).exists():
                os.replace(path, folder / path.name)
        fsync_directory(folder)
    _remove(old)


def recover_swap(folder: Path) -> list[str]:
    """Finish what a killed ``swap_in_folder`` left next to ``folder``; return what was done, each logged."""
    done = []
    ready, old = folder.with_name(f".{folder.name}.new"), folder.with_name(f".{folder.name}.old")
    if ready.is_dir():
        if folder.exists():
            _remove(old)
            os.replace(folder, old)
        os.replace(ready, folder)
        done.append(f"completed an interrupted final save ({ready.name} -> {folder.name})")
    elif old.is_dir() and not folder.exists():
        os.replace(old, folder)
        done.append(f"restored {folder.name} from {old.name}")
    if old.is_dir():
        _carry_over(old, folder)
        done.append(f"moved the checkpoints and logs of {old.name} into {folder.name} and deleted the rest")
    if folder.parent.is_dir():
        for path in folder.parent.glob(f".{glob.escape(folder.name)}.final-*.tmp"):
            _remove(path)
            done.append(f"deleted {path.name} (an interrupted final save)")
    for line in done:
        logger.warning(f"Cleaning {folder.parent}: {line}.")
    return done
