"""Reading labelled text files: CSV, TSV (with a header row) and JSONL, optionally .gz / .bz2 compressed.

One reader for the library (``read_examples``) and the ``tuneformers`` command. No torch. Records stream
(``RecordReader``), so a large file is never held as raw rows next to its examples. Every problem names the
file, the record or line, and the fix, as a ``DataError`` (a ``ValueError``; a missing file is also a
``FileNotFoundError``, a missing column also a ``KeyError``).
"""

from __future__ import annotations

import bz2
import csv
import dataclasses
import gzip
import io
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

FORMATS = ("csv", "tsv", "jsonl")
COLUMN_ARGUMENTS = ("text_column", "text_pair_column", "label_column")
"""How errors name the three columns by default; the command line passes its --flags instead."""


class DataError(ValueError):
    """A data file that cannot be used as it is: the message says where and how to fix it."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DataFileNotFoundError(DataError, FileNotFoundError):
    pass


class MissingColumnError(DataError, KeyError):
    pass


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


def format_suffix(path: str | os.PathLike) -> str:
    """The suffix naming a file's format, looking through a .gz or .bz2 one: 'data.jsonl.gz' -> '.jsonl'."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2"):
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def jsonl_values(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line of a JSONL file; bad JSON is a DataFormatError."""
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as error:
                raise DataFormatError(path, number, f"not valid JSON ({error.msg}).") from None


def open_text(path: str | os.PathLike) -> io.TextIOWrapper:
    """A data file as UTF-8 text (a BOM is skipped; .gz and .bz2 are decompressed); FileNotFoundError names it."""
    path = Path(path)
    if not path.is_file():
        raise DataFileNotFoundError(f"No data file at {path}; check the path.")
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix.lower())
    if opener is not None:
        return opener(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


@dataclasses.dataclass(frozen=True)
class TextExample:
    """One text (or text pair) and its label (``None`` when unlabelled)."""

    text: str
    text_pair: str | None = None
    label: Any = None
    line: int | None = dataclasses.field(default=None, compare=False)
    """The line of its file the example was read from (1-based, header included), so errors name the row
    after shuffling and splitting; None for examples not read from a file."""


def data_format(path: Path) -> str:
    """csv, tsv or jsonl, from the file name (a .gz or .bz2 suffix is looked through)."""
    kind = format_suffix(path).lstrip(".")
    if kind == "ndjson":
        return "jsonl"
    if kind not in FORMATS:
        raise DataError(f"Cannot tell the format of {path}: name it .csv, .tsv or .jsonl (optionally .gz or .bz2).")
    return kind


def check_data_file(path: str | os.PathLike, flag: str | None = None) -> Path:
    """The path, if it is a readable data file by name; else a DataError that names ``flag`` (or the path)."""
    path = Path(path)
    where = f"{flag} {path}" if flag else str(path)
    if not path.exists():
        raise DataFileNotFoundError(f"{where}: no such file. Check the path (relative paths start at {Path.cwd()}).")
    if not path.is_file():
        raise DataError(f"{where} is a folder; pass a .csv, .tsv or .jsonl file.")
    data_format(path)
    return path


class RecordReader:
    """Stream the records (dicts) of a CSV, TSV or JSONL file; ``columns`` is known after the first record.

    ``line`` is the file line of the record just yielded (for a CSV record spanning lines, its last line).
    ``bytes_read()`` tells how far through the (possibly compressed) file the reader is, for a progress bar.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.kind = data_format(self.path)
        self._raw = open(self.path, "rb")
        suffix = self.path.suffix.lower()
        stream: Any = gzip.open(self._raw, "rb") if suffix == ".gz" else bz2.open(self._raw, "rb") \
            if suffix == ".bz2" else self._raw
        self._text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        self.columns: list[str] = []
        self.line = 0
        self.size = self.path.stat().st_size

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._text.close()
        self._raw.close()

    def bytes_read(self) -> int:
        return self._raw.tell() if not self._raw.closed else self.size

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            if self.kind == "jsonl":
                yield from self._jsonl()
            else:
                csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
                reader = csv.DictReader(self._text, delimiter="," if self.kind == "csv" else "\t")
                self.columns = list(reader.fieldnames or [])
                self._check_unique_columns()
                for record in reader:
                    self.line = reader.line_num
                    yield record
        except UnicodeDecodeError as error:
            raise DataError(f"{self.path} is not UTF-8 text ({error.reason} at byte {error.start}); "
                            "save it as UTF-8.") from error
        except csv.Error as error:
            raise DataError(f"{self.path} is not valid {self.kind.upper()}: {error}.") from error
        except (EOFError, OSError) as error:  # truncated or corrupt .gz / .bz2
            raise DataError(f"Could not read {self.path}: {error}. Check that the file is complete.") from error

    def _check_unique_columns(self) -> None:
        seen: dict[str, int] = {}
        for number, name in enumerate(self.columns, start=1):
            if name in seen:
                raise DataError(f"{self.path}: the header names the column {name!r} twice (columns {seen[name]} and "
                                f"{number}), so one of them would be ignored. Rename one of them.")
            seen[name] = number

    def _jsonl(self) -> Iterator[dict[str, Any]]:
        for number, line in enumerate(self._text, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{self.path}, line {number}: not valid JSON ({error.msg}); fix or remove that line.")
            if not isinstance(record, dict):
                raise DataError(f"{self.path}, line {number}: expected one JSON object per line, "
                                f"got a {type(record).__name__}.")
            if not self.columns:
                self.columns = list(record)
            self.line = number
            yield record


def check_columns(path: Path, columns: Sequence[str], wanted: dict[str, str | None], number: int | None = None) -> None:
    """MissingColumnError naming the argument and listing the columns found, for the first wanted column missing."""
    for argument, column in wanted.items():
        if column is not None and column not in columns:
            where = f"record {number} of {path}" if number is not None else str(path)
            raise MissingColumnError(
                f"{where} has no column {column!r} (given as {argument}); columns found: "
                f"{list(columns) or 'none'}. Pass {argument} with one of them.")


def example_from_record(path: Path, record: dict[str, Any], number: int, text_column: str,
                        text_pair_column: str | None = None, label_column: str | None = None,
                        column_arguments: Sequence[str] = COLUMN_ARGUMENTS, line: int | None = None) -> TextExample:
    """One record as a TextExample; texts must be strings, labels are kept as read."""
    check_columns(path, list(record), dict(zip(column_arguments, (text_column, text_pair_column, label_column))), number)
    text = record[text_column]
    pair = record[text_pair_column] if text_pair_column else None
    for column, value in ((text_column, text), (text_pair_column, pair)):
        if column is not None and not isinstance(value, str):
            where = f"line {line}" if line is not None else f"record {number}"
            raise DataError(f"{path}, {where}: column {column!r} holds {value!r}, not text; "
                            "every row needs a string there.")
    return TextExample(text, pair, record[label_column] if label_column else None, line)


def read_examples(path: str | os.PathLike, text_column: str, text_pair_column: str | None = None,
                  label_column: str | None = None, limit: int | None = None, flag: str | None = None,
                  column_arguments: Sequence[str] = COLUMN_ARGUMENTS) -> list[TextExample]:
    """Read a CSV, TSV or JSONL file into :class:`TextExample` objects (at most ``limit``).

    Values are kept as read: strings from CSV/TSV, JSON types from JSONL. ``flag`` and ``column_arguments``
    are how error messages name the file and the three columns (the command line passes its --flags).
    """
    path = check_data_file(path, flag)
    wanted = dict(zip(column_arguments, (text_column, text_pair_column, label_column)))
    examples = []
    with RecordReader(path) as reader:
        for number, record in enumerate(reader, start=1):
            if number == 1:
                check_columns(path, reader.columns, wanted)
            examples.append(example_from_record(path, record, number, text_column, text_pair_column, label_column,
                                                column_arguments, reader.line))
            if limit is not None and len(examples) >= limit:
                break
        if not examples:
            header = f" (only a header: {', '.join(reader.columns)})" if reader.columns else ""
            where = f"{flag} {path}" if flag else str(path)
            raise DataError(f"{where} has no examples{header}; give a file with at least one row.")
    return examples
