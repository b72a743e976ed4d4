"""Task data files: the error that names the file and line, and opening (possibly compressed) text. No torch."""

from __future__ import annotations

import bz2
import gzip
import os
from pathlib import Path
from typing import TextIO

from .readers import DataError


class DataFormatError(DataError):
    """A data file that cannot be read as the task expects: ``path``, ``line`` and what was wrong.

    ``line`` is the 1-based line number (for JSONL the record's line); None when the problem is the
    file as a whole.
    """

    def __init__(self, path: str | os.PathLike | None, line: int | None, problem: str):
        self.path, self.line, self.problem = (str(path) if path is not None else None), line, problem
        where = self.path or "<data>"
        if line is not None:
            where += f", line {line}"
        super().__init__(f"{where}: {problem}")


def open_text(path: str | os.PathLike) -> TextIO:
    """A data file for reading as UTF-8 text (.gz and .bz2 are decompressed); FileNotFoundError names the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No data file at {path}; check the path.")
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    if suffix == ".bz2":
        return bz2.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")
