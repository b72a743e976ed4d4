"""The error raised for malformed data files: it names the file and the line (or record). No torch."""

from __future__ import annotations

import os


class DataFormatError(ValueError):
    """A data file that cannot be read as the task expects: ``path``, ``line`` and what was wrong.

    ``line`` is the 1-based line number (for JSON files, the record number); None when the problem is
    the file as a whole.
    """

    def __init__(self, path: str | os.PathLike | None, line: int | None, problem: str):
        self.path, self.line, self.problem = (str(path) if path is not None else None), line, problem
        where = self.path or "<data>"
        if line is not None:
            where += f", line {line}"
        super().__init__(f"{where}: {problem}")
