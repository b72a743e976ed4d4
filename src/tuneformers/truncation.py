"""Truncation and overflow windows as pure functions of token counts: testable without a vocabulary.

A text is a ``Segment`` of word-piece ids (special tokens come later). Given the room left beside the special
tokens (the budget), ``keep_counts`` says how many tokens of each text a truncation strategy keeps, and
``window_slices`` where the overflow windows of a long text start and end.
"""

from __future__ import annotations

import dataclasses
from typing import Any

TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")


@dataclasses.dataclass
class Segment:
    """One text (or a window of it) as word pieces, before special tokens.

    ``encoding`` is the fast tokenizer's record of the whole text; char offsets and word indices are read
    from it only when asked for, since turning them into Python lists costs as much as tokenizing.
    """

    ids: list[int]
    encoding: Any = None
    window: slice = dataclasses.field(default_factory=lambda: slice(None))

    @property
    def offsets(self) -> list[tuple[int, int]]:
        return self.encoding.offsets[self.window]

    @property
    def words(self) -> list[int | None]:
        return self.encoding.word_ids[self.window]

    def part(self, part: slice) -> Segment:
        """The tokens ``part`` of this segment, still pointing into the same encoding."""
        start, stop, _ = part.indices(len(self.ids))
        base = self.window.start or 0
        return Segment(self.ids[part], self.encoding, slice(base + start, base + stop))


def longest_first(len_first: int, len_second: int, budget: int) -> tuple[int, int]:
    """How many tokens of each text to keep when both must be cut: the shorter text (the first on a tie)
    keeps up to half the budget, the longer one the rest. This is the ``tokenizers`` library's rule."""
    if len_first <= len_second:
        keep_first = min(len_first, budget // 2)
        return keep_first, min(len_second, budget - keep_first)
    keep_second = min(len_second, budget // 2)
    return min(len_first, budget - keep_second), keep_second


def keep_counts(strategy: str, len_first: int, len_second: int | None, budget: int) -> tuple[int, int]:
    """(tokens kept of the first text, of the second) under ``strategy``; ``len_second`` None for one text.

    ValueError, with the fix, when the strategy cannot fit the budget.
    """
    pair = len_second is not None
    len_second = len_second or 0
    if strategy == "longest_first":
        return longest_first(len_first, len_second, budget) if pair else (min(len_first, budget), 0)
    if strategy == "only_first":
        keep_first = budget - len_second
        if keep_first <= 0:
            raise ValueError(
                f"truncation='only_first' cannot fit max_length: the second text alone has {len_second} tokens "
                f"and only {budget} fit besides the special tokens. Use truncation='longest_first' or a larger max_length."
            )
        return min(keep_first, len_first), len_second
    if strategy == "only_second":
        if not pair:
            raise ValueError("truncation='only_second' needs text pairs; pass text_pair=... or use truncation=True.")
        keep_second = budget - len_first
        if keep_second <= 0:
            raise ValueError(
                f"truncation='only_second' cannot fit max_length: the first text alone has {len_first} tokens "
                f"and only {budget} fit besides the special tokens. Use truncation='longest_first' or a larger max_length."
            )
        return len_first, min(keep_second, len_second)
    raise ValueError(f"truncation={strategy!r} is not one of True, False, {TRUNCATION_STRATEGIES}.")


def cut_slice(length: int, keep: int, side: str) -> slice:
    """The ``keep`` tokens of a ``length``-token text that truncation on ``side`` ('right' or 'left') keeps."""
    if keep >= length:
        return slice(0, length)
    return slice(0, keep) if side == "right" else slice(length - keep, length)


def window_slices(length: int, size: int, stride: int, side: str = "right") -> list[slice]:
    """Overflow windows of ``size`` tokens over a ``length``-token text, each starting ``size - stride``
    after the previous, until the text ends; with ``side='left'`` they are laid from the end backwards."""
    if size < 1:
        raise ValueError(f"Overflow windows need at least one token each, got size={size}.")
    if not 0 <= stride < size:
        raise ValueError(
            f"stride={stride} must be smaller than the number of tokens kept per window ({size}); "
            "lower stride or raise max_length."
        )
    starts, start = [], 0
    while True:
        starts.append(start)
        if start + size >= length:
            break
        start += size - stride
    if side == "left":
        return [slice(max(length - s - size, 0), length - s) for s in starts]
    return [slice(s, min(s + size, length)) for s in starts]
