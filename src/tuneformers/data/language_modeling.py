"""Language-modelling data: unlabelled text streamed from files, tokenized once into an on-disk cache.

No torch here. A corpus may be larger than memory: texts are read and tokenized in batches, their
token ids appended to a binary cache file next to the corpus (or in ``cache_dir``), and examples
are read back from it with ``os.pread`` on demand, so memory use does not grow with the corpus.

* ``read_texts(path)``: the texts of a ``.txt`` file (one text per non-empty line) or a ``.jsonl``
  file (one JSON object per line, text under ``text_column``), optionally ``.gz`` / ``.bz2``.
* ``TextDataset``: the corpus as one token stream cut into blocks of ``block_size`` tokens
  (special tokens included), like Hugging Face 4.x's class of that name and ``group_texts``.
* ``LineByLineTextDataset``: one example per line, truncated to ``block_size`` tokens.
* ``group_texts``: the packing step on a dict of token lists, for ``datasets.Dataset.map(batched=True)``.

Examples are dicts ``{"input_ids": [...]}`` for ``DataCollatorForLanguageModeling`` and the Trainer.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from .readers import format_suffix, open_text

__all__ = ["read_texts", "group_texts", "TextDataset", "LineByLineTextDataset", "TEXT_SUFFIXES"]

TEXT_SUFFIXES = (".txt", ".text", ".jsonl", ".ndjson")
_BATCH_CHARS = 1 << 18  # characters tokenized per call: bounds memory while building a cache
_CACHE_VERSION = 1


# ---------------------------------------------------------------------------------------- reading


def _kind(path: Path) -> str:
    kind = format_suffix(path)
    if kind not in TEXT_SUFFIXES:
        raise ValueError(f"Cannot read {path} as text: use a .txt file (one text per line) or a .jsonl file "
                         "(one JSON object per line), optionally .gz or .bz2 compressed.")
    return "jsonl" if kind in (".jsonl", ".ndjson") else "txt"


def read_texts(path: str | os.PathLike, text_column: str = "text") -> Iterator[str]:
    """Yield the non-empty texts of a .txt or .jsonl file (optionally .gz/.bz2), one line at a time.

    Errors name the file and line: bad JSON, a record without ``text_column``, a non-string text,
    text that is not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No text file at {path}; check the path.")
    jsonl = _kind(path) == "jsonl"
    number = 0
    try:
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                text = _jsonl_text(path, number, line, text_column) if jsonl else line.strip()
                if text:
                    yield text
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}, line {number + 1}: not UTF-8 text ({error.reason}); save the file as UTF-8.") from None
    except (EOFError, OSError) as error:
        raise ValueError(f"Could not read {path} after line {number}: {error}. Check that the file is complete.") from None


def _jsonl_text(path: Path, number: int, line: str, column: str) -> str:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}, line {number}: not valid JSON ({error.msg}); fix or remove that line.") from None
    if not isinstance(record, dict) or column not in record:
        found = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise ValueError(f"{path}, line {number}: no {column!r} field (found: {found}); pass the field that "
                         "holds the text as text_column.")
    text = record[column]
    if not isinstance(text, str):
        raise ValueError(f"{path}, line {number}: field {column!r} holds {text!r}, not text.")
    return text.strip()


def _batches(texts: Iterable[str], max_chars: int = _BATCH_CHARS) -> Iterator[list[str]]:
    """Lists of texts of about ``max_chars`` characters (a longer text comes alone)."""
    batch: list[str] = []
    size = 0
    for text in texts:
        batch.append(text)
        size += len(text)
        if size >= max_chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------- packing


def group_texts(examples: Mapping[str, Sequence[Sequence[Any]]], block_size: int) -> dict[str, list[list[Any]]]:
    """Concatenate each field's lists and cut them into blocks of ``block_size``; the remainder that
    does not fill a block is dropped. For ``dataset.map(lambda batch: group_texts(batch, 128), batched=True)``."""
    if block_size < 1:
        raise ValueError(f"block_size must be a positive number, got {block_size}.")
    concatenated = {key: [item for row in rows for item in row] for key, rows in examples.items()}
    lengths = {len(values) for values in concatenated.values()}
    if len(lengths) > 1:
        raise ValueError(f"group_texts needs fields of equal total length, got {sorted(lengths)}.")
    total = (lengths.pop() if lengths else 0) // block_size * block_size
    return {key: [values[start : start + block_size] for start in range(0, total, block_size)]
            for key, values in concatenated.items()}


# ------------------------------------------------------------------------------------- the cache


class _TokenCache:
    """Token ids of many texts, end to end in one binary file, with the start of each text in another.

    Built once by streaming, by one process under a file lock (the others wait, then read it); read with
    ``os.pread`` (one descriptor per process, so DataLoader workers each open their own).
    """

    def __init__(self, ids_path: Path, starts_path: Path, dtype: np.dtype):
        self.ids_path, self.starts_path, self.dtype = ids_path, starts_path, np.dtype(dtype)
        self.num_tokens = ids_path.stat().st_size // self.dtype.itemsize
        self.num_texts = starts_path.stat().st_size // 8 - 1
        self._fd: dict[tuple[int, str], int] = {}  # (pid, file) -> descriptor, opened lazily

    @classmethod
    def build(cls, texts: Iterable[str], encode_batch: Any, folder: Path, stem: str, dtype: np.dtype) -> _TokenCache:
        ids_path, starts_path = folder / f"{stem}.ids", folder / f"{stem}.starts"
        if ids_path.is_file() and starts_path.is_file():
            return cls(ids_path, starts_path, dtype)
        folder.mkdir(parents=True, exist_ok=True)
        # One process builds; the others (the processes of a distributed run, another job) wait, then read it.
        with FileLock(str(folder / f".{stem}.lock")):
            if not (ids_path.is_file() and starts_path.is_file()):
                cls._write(texts, encode_batch, ids_path, starts_path, dtype)
        return cls(ids_path, starts_path, dtype)

    @staticmethod
    def _write(texts: Iterable[str], encode_batch: Any, ids_path: Path, starts_path: Path, dtype: np.dtype) -> None:
        temp_ids, temp_starts = ids_path.with_suffix(f".ids.tmp{os.getpid()}"), starts_path.with_suffix(
            f".starts.tmp{os.getpid()}")
        try:
            with open(temp_ids, "wb") as ids_file, open(temp_starts, "wb") as starts_file:
                position = 0
                starts_file.write(np.int64(0).tobytes())
                for batch in _batches(texts):
                    rows = encode_batch(batch)
                    ends = position + np.cumsum([len(row) for row in rows], dtype=np.int64)
                    ids = np.fromiter(itertools.chain.from_iterable(rows), dtype=dtype, count=int(ends[-1]) - position)
                    ids_file.write(ids.tobytes())
                    starts_file.write(ends.tobytes())
                    position = int(ends[-1])
            os.replace(temp_ids, ids_path)
            os.replace(temp_starts, starts_path)
        finally:
            for temp in (temp_ids, temp_starts):
                temp.unlink(missing_ok=True)

    def _read(self, path: Path, start: int, count: int, dtype: np.dtype) -> np.ndarray:
        key = (os.getpid(), str(path))
        fd = self._fd.get(key)
        if fd is None:
            fd = self._fd[key] = os.open(path, os.O_RDONLY)
        data = os.pread(fd, count * dtype.itemsize, start * dtype.itemsize)
        return np.frombuffer(data, dtype=dtype)

    def tokens(self, start: int, stop: int) -> np.ndarray:
        return self._read(self.ids_path, start, stop - start, self.dtype)

    def text_span(self, index: int) -> tuple[int, int]:
        start, stop = self._read(self.starts_path, index, 2, np.dtype(np.int64))
        return int(start), int(stop)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fd": {}}

    def __del__(self) -> None:
        for (pid, _), fd in getattr(self, "_fd", {}).items():
            if pid == os.getpid():
                os.close(fd)


def _cache_stem(kind: str, path: Path, tokenizer: Any, settings: Any) -> str:
    """A name that changes when the file, the tokenizer or the settings change."""
    stat = path.stat()
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    digest = hashlib.sha256(json.dumps([_CACHE_VERSION, kind, str(path.resolve()), stat.st_size, stat.st_mtime_ns,
                                        type(tokenizer).__name__, getattr(tokenizer, "do_lower_case", None),
                                        vocab, settings]).encode()).hexdigest()[:16]
    return f"cached_{kind}_{path.name}_{digest}"


def _word_piece_ids(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """Token ids without special tokens; straight from the Rust tokenizer when there is one (much faster)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and backend.post_processor is None:
        return [encoding.ids for encoding in backend.encode_batch(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def _token_dtype(tokenizer: Any) -> np.dtype:
    return np.dtype(np.uint16 if len(tokenizer) <= np.iinfo(np.uint16).max else np.uint32)


class _CachedDataset:
    """Shared by both datasets: the cache, its location, and ``select`` for train / held-out views."""

    def __init__(self, tokenizer: Any, file_path: str | os.PathLike, block_size: int, text_column: str,
                 cache_dir: str | os.PathLike | None, overwrite_cache: bool, kind: str, add_special_tokens: bool):
        if block_size < 2 + tokenizer.num_special_tokens_to_add(pair=False):
            raise ValueError(f"block_size={block_size} is too small: it must leave room for tokens besides the "
                             f"{tokenizer.num_special_tokens_to_add(pair=False)} special tokens; try 128 or 512.")
        path = Path(file_path)
        texts = read_texts(path, text_column)  # checks the path and the format before anything is written
        self.tokenizer, self.block_size = tokenizer, block_size
        folder = Path(cache_dir) if cache_dir is not None else path.parent
        stem = _cache_stem(kind, path, tokenizer, [block_size, text_column])
        if overwrite_cache:
            for suffix in (".ids", ".starts"):
                (folder / f"{stem}{suffix}").unlink(missing_ok=True)

        def encode_batch(batch: list[str]) -> list[list[int]]:
            rows = _word_piece_ids(tokenizer, batch)
            if not add_special_tokens:
                return rows
            budget = block_size - tokenizer.num_special_tokens_to_add(pair=False)
            return [tokenizer.build_inputs_with_special_tokens(row[:budget]) for row in rows]

        self.cache = _TokenCache.build(texts, encode_batch, folder, stem, _token_dtype(tokenizer))
        if self.cache.num_texts == 0:
            raise ValueError(f"{path} has no text (every line is empty).")
        self.indices: np.ndarray | None = None  # a view's example numbers, None for all

    def _size(self) -> int:
        raise NotImplementedError

    def _example(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return self._size() if self.indices is None else len(self.indices)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} examples.")
        index = index % len(self)
        ids = self._example(int(index if self.indices is None else self.indices[index]))
        return {"input_ids": ids.astype(np.int64).tolist()}

    def select(self, indices: Iterable[int]):
        """A view with only the given examples (numbers of this dataset), e.g. for a held-out split."""
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        chosen = np.fromiter(indices, dtype=np.int64)
        view.indices = chosen if self.indices is None else self.indices[chosen]
        return view

    def train_validation_split(self, validation_fraction: float) -> tuple[Any, Any]:
        """Every k-th example held out (k = 1 / fraction): deterministic, spread over the whole corpus."""
        if not 0.0 < validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be between 0 and 1 (exclusive), got {validation_fraction}.")
        step = max(2, round(1 / validation_fraction))
        held_out = np.arange(step - 1, len(self), step)
        if len(held_out) == 0:
            raise ValueError(f"{len(self)} example(s) are too few to hold out a fraction of "
                             f"{validation_fraction}; use a larger file or a separate validation file.")
        keep = np.ones(len(self), dtype=bool)
        keep[held_out] = False
        return self.select(np.flatnonzero(keep)), self.select(held_out)


class TextDataset(_CachedDataset):
    """The whole file as one token stream, cut into blocks of ``block_size`` tokens.

    Each block holds ``block_size`` minus the special tokens of the corpus' consecutive tokens,
    wrapped in the tokenizer's special tokens (``[CLS] ... [SEP]`` for BERT); the tokens after the
    last full block are dropped. Line breaks separate words, not examples.
    """

    def __init__(self, tokenizer: Any, file_path: str | os.PathLike, block_size: int, overwrite_cache: bool = False,
                 cache_dir: str | os.PathLike | None = None, text_column: str = "text"):
        super().__init__(tokenizer, file_path, block_size, text_column, cache_dir, overwrite_cache, "blocks",
                         add_special_tokens=False)
        self.tokens_per_block = block_size - tokenizer.num_special_tokens_to_add(pair=False)

    def _size(self) -> int:
        return self.cache.num_tokens // self.tokens_per_block

    def _example(self, index: int) -> np.ndarray:
        start = index * self.tokens_per_block
        ids = self.cache.tokens(start, start + self.tokens_per_block).tolist()
        return np.asarray(self.tokenizer.build_inputs_with_special_tokens(ids))


class LineByLineTextDataset(_CachedDataset):
    """One example per non-empty line (or JSONL record), with special tokens, truncated to ``block_size``."""

    def __init__(self, tokenizer: Any, file_path: str | os.PathLike, block_size: int, overwrite_cache: bool = False,
                 cache_dir: str | os.PathLike | None = None, text_column: str = "text"):
        super().__init__(tokenizer, file_path, block_size, text_column, cache_dir, overwrite_cache, "lines",
                         add_special_tokens=True)

    def _size(self) -> int:
        return self.cache.num_texts

    def _example(self, index: int) -> np.ndarray:
        return self.cache.tokens(*self.cache.text_span(index))
