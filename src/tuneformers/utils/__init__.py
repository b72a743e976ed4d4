"""Small shared helpers: atomic (and durable) file writes, optional-dependency checks; the package logger is
utils/logging.py. No torch."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .logging import get_logger  # noqa: F401  (one logger setup; `tuneformers.utils.logging` is the HF-style module)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; on success fsync it and rename it over ``path``.

    A crash mid-write leaves the previous file untouched and at worst a stray ``.tmp`` file.
    """
    path = Path(path)
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    temp_path = Path(temp_name)
    try:
        yield temp_path
        with open(temp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(temp_path, 0o666 & ~_current_umask())  # mkstemp makes owner-only files; save like open() would
        os.replace(temp_path, path)
        fsync_directory(path.parent)
    finally:
        temp_path.unlink(missing_ok=True)


def fsync_directory(path: str | os.PathLike) -> None:
    """Make the entries of a folder (files created or renamed in it) durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(path: str | os.PathLike) -> None:
    """fsync every file under ``path`` and every folder, so that what was written survives a power cut."""
    for folder, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                os.fsync(handle.fileno())
        fsync_directory(folder)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as temp_path:
        temp_path.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success fsync its files and rename it to ``path`` (replacing an old one).

    A crash leaves ``path`` or, mid-replace, ``.<name>.old`` (the previous folder, complete) and a stray ``.tmp``
    folder; see ``trainer.output_folder.clean_debris``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp_path = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield temp_path
        replace_directory(temp_path, path)
    finally:
        shutil.rmtree(temp_path, ignore_errors=True)


def replace_directory(temp_path: Path, path: Path) -> None:
    """fsync the files of ``temp_path``, then rename it to ``path`` (an old ``path`` goes via ``.<name>.old``)."""
    fsync_tree(temp_path)
    if path.exists():
        trash = path.with_name(f".{path.name}.old")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(path, trash)
        os.replace(temp_path, path)
        fsync_directory(path.parent)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(temp_path, path)
        fsync_directory(path.parent)


def require(module: str, extra: str, feature: str):
    """Import an optional dependency, or raise ImportError saying which pip install fixes it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{feature} needs the '{module}' package, which is not installed. "
            f"Install it with: pip install 'tuneformers[{extra}]'"
        ) from error


def is_torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def is_tf_available() -> bool:
    return importlib.util.find_spec("tensorflow") is not None
