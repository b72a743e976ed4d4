"""The tokenizer base shared by our tokenizers: special tokens, the encode pipeline (truncation, overflow
windows, padding), decoding, and saving/loading tokenizer folders. No torch, no tensorflow at import.

A concrete tokenizer only turns texts into word-piece ids (``_encode_texts``) and knows its vocabulary
(``_token_to_id_map``, ``_id_to_token``); everything a user controls through ``__call__`` happens here, once,
for the slow and the fast tokenizer alike. The special-token layout of a family lives in one place:
``build_inputs_with_special_tokens`` / ``create_token_type_ids_from_sequences`` / ``get_special_tokens_mask``.
The output type is in batch_encoding.py, the truncation arithmetic in truncation.py.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .batch_encoding import BatchEncoding
from .constants import SPECIAL_TOKENS_MAP_NAME, TOKENIZER_CONFIG_NAME
from .truncation import TRUNCATION_STRATEGIES, Segment, cut_slice, keep_counts, window_slices
from .typed_dataclass import ConfigFileError, coerce_values, parameter_types, unknown_keyword_message
from .hub import resolve_model_dir, split_hub_kwargs
from .utils import atomic_write_text, get_logger

logger = get_logger(__name__)

SPECIAL_TOKEN_NAMES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
VERY_LARGE_LENGTH = int(1e30)


# ---- the tokenizer base ---------------------------------------------------------------------------


class PreTrainedTokenizerBase:
    """Everything between texts and model inputs that does not depend on how text becomes word pieces."""

    vocab_files: ClassVar[tuple[str, ...]] = ()
    model_input_names: ClassVar[tuple[str, ...]] = ("input_ids", "token_type_ids", "attention_mask")
    init_options: ClassVar[tuple[str, ...]] = ()
    """Options of the concrete tokenizer saved to and read from tokenizer_config.json."""
    tracks_offsets: ClassVar[bool] = False

    def __init__(
        self,
        *,
        unk_token: str | None = "[UNK]",
        sep_token: str | None = "[SEP]",
        pad_token: str | None = "[PAD]",
        cls_token: str | None = "[CLS]",
        mask_token: str | None = "[MASK]",
        bos_token: str | None = None,
        eos_token: str | None = None,
        model_max_length: int | None = None,
        padding_side: str = "right",
        truncation_side: str = "right",
        clean_up_tokenization_spaces: bool = True,
        additional_special_tokens: list[str] | None = None,
    ):
        for name, value in (("padding_side", padding_side), ("truncation_side", truncation_side)):
            if value not in ("right", "left"):
                raise ValueError(f"{name}={value!r} must be 'right' or 'left'.")
        self.unk_token, self.sep_token, self.pad_token = unk_token, sep_token, pad_token
        self.cls_token, self.mask_token = cls_token, mask_token
        self.bos_token, self.eos_token = bos_token, eos_token  # sequence start / end (RoBERTa-style vocabularies)
        self.model_max_length = model_max_length if model_max_length is not None else VERY_LARGE_LENGTH
        self.padding_side = padding_side
        self.truncation_side = truncation_side
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        self.name_or_path = ""
        self._warned_too_long = False
        self.additional_special_tokens: list[str] = list(additional_special_tokens or [])

    # ---- what a concrete tokenizer provides ----

    def _encode_texts(self, texts: list[str] | list[list[str]], is_split_into_words: bool) -> list[Segment]:
        raise NotImplementedError

    def tokenize(self, text: str) -> list[str]:
        raise NotImplementedError

    def _token_to_id_map(self) -> Mapping[str, int]:
        """token -> id, special and added tokens included (read, never copied, by the conversions below)."""
        raise NotImplementedError

    def _id_to_token(self, index: int) -> str | None:
        raise NotImplementedError

    def get_vocab(self) -> dict[str, int]:
        return dict(self._token_to_id_map())

    # ---- tokens <-> ids ----

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | list[int]:
        """Id of each token; unknown tokens get the id of unk_token."""
        vocab = self._token_to_id_map()
        unk = vocab.get(self.unk_token) if self.unk_token is not None else None
        if isinstance(tokens, str):
            return vocab.get(tokens, unk)
        return [vocab.get(token, unk) for token in tokens]

    def convert_ids_to_tokens(self, ids: int | list[int], skip_special_tokens: bool = False) -> str | list[str]:
        """Token of each id (unk_token for ids outside the vocabulary); special tokens dropped if asked."""
        if isinstance(ids, int):
            return self._id_to_token(ids) or self.unk_token
        special = set(self.all_special_ids) if skip_special_tokens else ()
        return [self._id_to_token(index) or self.unk_token for index in ids if index not in special]

    def _save_vocabulary(self, folder: Path) -> None:
        raise NotImplementedError

    def _decode_tokens(self, tokens: list[str]) -> str:
        return " ".join(tokens).replace(" ##", "").strip()

    # ---- special tokens ----

    def _token_id(self, token: str | None) -> int | None:
        return None if token is None else self.convert_tokens_to_ids(token)

    @property
    def bos_token_id(self) -> int | None:
        return self._token_id(self.bos_token)

    @property
    def eos_token_id(self) -> int | None:
        return self._token_id(self.eos_token)

    @property
    def unk_token_id(self) -> int | None:
        return self._token_id(self.unk_token)

    @property
    def sep_token_id(self) -> int | None:
        return self._token_id(self.sep_token)

    @property
    def pad_token_id(self) -> int | None:
        return self._token_id(self.pad_token)

    @property
    def cls_token_id(self) -> int | None:
        return self._token_id(self.cls_token)

    @property
    def mask_token_id(self) -> int | None:
        return self._token_id(self.mask_token)

    @property
    def pad_token_type_id(self) -> int:
        return 0

    def named_special_tokens(self) -> dict[str, str]:
        """unk_token, sep_token, ... -> their token, for those that are set."""
        return {name: getattr(self, name) for name in SPECIAL_TOKEN_NAMES if getattr(self, name) is not None}

    @property
    def special_tokens_map(self) -> dict[str, Any]:
        tokens: dict[str, Any] = self.named_special_tokens()
        if self.additional_special_tokens:
            tokens["additional_special_tokens"] = list(self.additional_special_tokens)
        return tokens

    @property
    def all_special_tokens(self) -> list[str]:
        return list(dict.fromkeys([*self.named_special_tokens().values(), *self.additional_special_tokens]))

    @property
    def additional_special_tokens_ids(self) -> list[int]:
        return [self.convert_tokens_to_ids(token) for token in self.additional_special_tokens]

    @property
    def is_fast(self) -> bool:
        """True for tokenizers on a ``tokenizers`` library backend (the ones that track offsets and word ids)."""
        return self.tracks_offsets

    # ---- lengths, as HF v3 scripts read them ----

    @property
    def max_len(self) -> int:
        """The v3 name of model_max_length."""
        return self.model_max_length

    @property
    def max_len_single_sentence(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=False)

    @property
    def max_len_sentences_pair(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=True)

    # ---- adding tokens ----

    def _add_to_vocabulary(self, tokens: list[str], special: bool) -> None:
        """Give the ``tokens`` the vocabulary lacks the next ids, and never split any of them; ``special`` ones are
        also skipped by ``decode(skip_special_tokens=True)``. Each backend implements it."""
        raise NotImplementedError(f"{type(self).__name__} cannot add tokens.")

    def add_tokens(self, new_tokens: str | list[str], special_tokens: bool = False) -> int:
        """Add tokens the vocabulary lacks (kept whole when tokenizing); returns how many were new.

        Grow the model to match with ``model.resize_token_embeddings(len(tokenizer))``.
        """
        tokens = [new_tokens] if isinstance(new_tokens, str) else list(new_tokens)
        for token in tokens:
            if not isinstance(token, str) or not token:
                raise TypeError(f"add_tokens takes non-empty strings, got {token!r}.")
        vocabulary = self._token_to_id_map()
        fresh = [token for token in dict.fromkeys(tokens) if token not in vocabulary]
        if special_tokens:
            self.additional_special_tokens += [token for token in dict.fromkeys(tokens) if token not in self.all_special_tokens]
        if fresh or special_tokens:
            self._add_to_vocabulary(list(dict.fromkeys(tokens)) if special_tokens else fresh, special_tokens)
        return len(fresh)

    def add_special_tokens(self, special_tokens_dict: dict[str, Any]) -> int:
        """Set named special tokens (``{"pad_token": "[PAD]"}``) or ``additional_special_tokens``; returns how many
        tokens were new to the vocabulary."""
        added = 0
        for name, value in special_tokens_dict.items():
            if name == "additional_special_tokens":
                values = [value] if isinstance(value, str) else list(value)
                added += self.add_tokens(values, special_tokens=True)
                continue
            if name not in SPECIAL_TOKEN_NAMES:
                raise ValueError(unknown_keyword_message(name, [*SPECIAL_TOKEN_NAMES, "additional_special_tokens"],
                                                         "special token name"))
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, got {value!r}.")
            setattr(self, name, value)
            added += self.add_tokens([value], special_tokens=True)
        return added

    def get_added_vocab(self) -> dict[str, int]:
        """Tokens added to the original vocabulary (by add_tokens / add_special_tokens) and their ids."""
        return {token: index for token, index in self._token_to_id_map().items() if index >= self.vocab_size}

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Join tokens back into text (word pieces rejoined)."""
        return self._decode_tokens(list(tokens))

    @property
    def all_special_ids(self) -> list[int]:
        return [self.convert_tokens_to_ids(token) for token in self.all_special_tokens]

    @property
    def vocab_size(self) -> int:
        return len(self.get_vocab())

    def __len__(self) -> int:
        return len(self.get_vocab())

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return len(self.build_inputs_with_special_tokens([], [] if pair else None))

    def build_inputs_with_special_tokens(self, ids: list[int], pair_ids: list[int] | None = None) -> list[int]:
        """[CLS] A [SEP], or [CLS] A [SEP] B [SEP] for a pair."""
        if pair_ids is None:
            return [self.cls_token_id, *ids, self.sep_token_id]
        return [self.cls_token_id, *ids, self.sep_token_id, *pair_ids, self.sep_token_id]

    def create_token_type_ids_from_sequences(self, ids: list[int], pair_ids: list[int] | None = None) -> list[int]:
        first = [0] * (len(ids) + 2)
        return first if pair_ids is None else first + [1] * (len(pair_ids) + 1)

    def get_special_tokens_mask(self, ids: list[int], pair_ids: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        """1 where a token is special ([CLS], [SEP], [PAD], ...), 0 for text tokens."""
        if already_has_special_tokens:
            special = set(self.all_special_ids)
            return [1 if token in special else 0 for token in ids]
        mask = [1] + [0] * len(ids) + [1]
        return mask if pair_ids is None else mask + [0] * len(pair_ids) + [1]

    # ---- __call__ ----

    def __call__(
        self,
        text: Any = None,
        text_pair: Any = None,
        *,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        **unknown: Any,
    ) -> BatchEncoding:
        """Tokenize a text, a pair, a batch of texts or a batch of pairs into model inputs."""
        padding, truncation = _apply_v3_keywords(unknown, padding, truncation)
        if unknown:
            raise TypeError(unknown_keyword_message(next(iter(unknown)), [*_call_defaults(), "text", "text_pair"],
                                                    "tokenizer argument"))
        firsts, seconds, batched = _normalise_inputs(text, text_pair, is_split_into_words)
        if return_offsets_mapping and not self.tracks_offsets:
            raise NotImplementedError(
                f"return_offsets_mapping needs character offsets, which {type(self).__name__} does not track. "
                "Use BertTokenizerFast."
            )
        first_segments = self._encode_texts(firsts, is_split_into_words)
        second_segments = self._encode_texts(seconds, is_split_into_words) if seconds is not None else None
        return self._encode_segments(
            first_segments, second_segments, batched, add_special_tokens=add_special_tokens, padding=padding,
            truncation=truncation, max_length=max_length, stride=stride, pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side, return_tensors=return_tensors, return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask, return_overflowing_tokens=return_overflowing_tokens,
            return_special_tokens_mask=return_special_tokens_mask, return_offsets_mapping=return_offsets_mapping,
            return_length=return_length)

    def _encode_segments(self, first_segments: list[Segment], second_segments: list[Segment] | None, batched: bool, *,
                         add_special_tokens: bool, padding: bool | str, truncation: bool | str | None,
                         max_length: int | None, stride: int, pad_to_multiple_of: int | None, padding_side: str | None,
                         return_tensors: str | None, return_token_type_ids: bool | None,
                         return_attention_mask: bool | None, return_overflowing_tokens: bool,
                         return_special_tokens_mask: bool, return_offsets_mapping: bool,
                         return_length: bool, ids_given: bool = False) -> BatchEncoding:
        """Word pieces -> model inputs: truncation (or overflow), special tokens, padding, the chosen keys.

        Overflow comes in two forms. Texts tokenized here slide windows over the long text, one row each
        (``overflow_to_sample_mapping`` says whose), as fast tokenizers do. Ids given as ids (v3's
        ``encode_plus`` on lists of ids or tokens, ``prepare_for_model``) and pairs cut with ``longest_first``
        keep one row per example with v3's ``overflowing_tokens`` and ``num_truncated_tokens``.
        """
        pair = second_segments is not None
        padding_strategy, truncation_strategy, max_length = self._resolve_strategies(
            padding, truncation, max_length, pair=pair)
        cut_in_place = return_overflowing_tokens and (
            ids_given or (pair and truncation_strategy == "longest_first"))
        if stride and not return_overflowing_tokens:
            stride = 0  # stride only shapes overflow windows

        rows: list[dict[str, list]] = []
        sample_mapping: list[int] = []
        for index, first in enumerate(first_segments):
            second = second_segments[index] if second_segments is not None else None
            if cut_in_place:
                rows.append(self._row_with_overflow(first, second, add_special_tokens, truncation_strategy, max_length,
                                                    stride))
                continue
            for row in self._rows_for_example(first, second, add_special_tokens, truncation_strategy, max_length,
                                              stride, return_overflowing_tokens):
                rows.append(row)
                sample_mapping.append(index)

        target = self._padding_target(padding_strategy, max_length, pad_to_multiple_of, (len(r["input_ids"]) for r in rows))
        side = padding_side or self.padding_side
        if target is not None:
            for row in rows:
                self._pad_row(row, target, side)

        if return_offsets_mapping:
            for row in rows:
                row["offset_mapping"] = self._annotations(row)["offset_mapping"]
        keep = {"input_ids"}
        if return_token_type_ids or (return_token_type_ids is None and "token_type_ids" in self.model_input_names):
            keep.add("token_type_ids")
        if return_attention_mask is not False:
            keep.add("attention_mask")
        if return_special_tokens_mask:
            keep.add("special_tokens_mask")
        if return_offsets_mapping:
            keep.add("offset_mapping")
        data: dict[str, Any] = {key: [row[key] for row in rows] for key in
                                ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask", "offset_mapping")
                                if key in keep}
        if return_length:
            data["length"] = [len(row["input_ids"]) for row in rows]
        if cut_in_place and return_tensors is None and (batched or rows[0]["_overflow"][1] > 0):
            data["overflowing_tokens"] = [row["_overflow"][0] for row in rows]
            data["num_truncated_tokens"] = [row["_overflow"][1] for row in rows]
        if return_overflowing_tokens and not cut_in_place:
            data["overflow_to_sample_mapping"] = sample_mapping
        elif not batched and return_tensors is None:
            data = {key: value[0] for key, value in data.items()}
        annotate = (lambda index: self._annotations(rows[index])) if self.tracks_offsets and not ids_given else None
        return BatchEncoding(data, tensor_type=return_tensors, annotate=annotate)

    def _row_with_overflow(self, first: Segment, second: Segment | None, add_special_tokens: bool, truncation: str,
                           max_length: int | None, stride: int) -> dict[str, Any]:
        """One row cut to ``max_length``; ``row["_overflow"]`` is (overflowing_tokens, num_truncated_tokens).

        The overflowing tokens are the cut ones plus the ``stride`` tokens before them; for a pair cut with
        ``longest_first`` they are the cut tail of the first text followed by that of the second (v3 listed
        them interleaved in the order it removed them, HF 5 returns none).
        """
        pair = second is not None
        lengths = (len(first.ids), len(second.ids) if pair else 0)
        budget = None
        if truncation != "do_not_truncate" and max_length is not None:
            budget = max_length - (self.num_special_tokens_to_add(pair) if add_special_tokens else 0)
        if budget is None or sum(lengths) <= budget:
            row = self._build_row(first, second, add_special_tokens)
            row["_overflow"] = ([], 0)
            return row
        keeps = keep_counts(truncation, lengths[0], lengths[1] if pair else None, budget)
        side = self.truncation_side
        kept = [segment.part(cut_slice(length, keep, side)) if segment is not None else None
                for segment, length, keep in zip((first, second), lengths, keeps)]
        if pair and truncation == "longest_first":
            overflowing = [token for segment, length, keep in zip((first, second), lengths, keeps)
                           for token in (segment.ids[keep:] if side == "right" else segment.ids[:length - keep])]
        else:
            cut, length, keep = (second, lengths[1], keeps[1]) if truncation == "only_second" else (first, lengths[0], keeps[0])
            window = min(length, stride + length - keep)
            overflowing = cut.ids[length - window:] if side == "right" else cut.ids[:window]
        row = self._build_row(kept[0], kept[1], add_special_tokens)
        row["_overflow"] = (list(overflowing), sum(lengths) - budget)
        return row

    def _resolve_strategies(self, padding, truncation, max_length, pair: bool) -> tuple[str, str, int | None]:
        if padding is True:
            padding = "longest"
        elif padding is False or padding is None:
            padding = "do_not_pad"
        if padding not in PADDING_STRATEGIES:
            raise ValueError(f"padding={padding!r} is not one of True, False, {PADDING_STRATEGIES}.")
        if truncation is None:
            truncation = "longest_first" if max_length is not None and padding == "do_not_pad" else "do_not_truncate"
        elif truncation is True:
            truncation = "longest_first"
        elif truncation is False:
            truncation = "do_not_truncate"
        if truncation not in TRUNCATION_STRATEGIES:
            raise ValueError(f"truncation={truncation!r} is not one of True, False, {TRUNCATION_STRATEGIES}.")
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            raise ValueError(f"max_length={max_length!r} must be a positive integer or None.")
        if max_length is None and (padding == "max_length" or truncation != "do_not_truncate"):
            if self.model_max_length >= VERY_LARGE_LENGTH:
                raise ValueError(
                    f"padding={padding!r} / truncation={truncation!r} need a length, and this tokenizer has no "
                    "model_max_length. Pass max_length=..."
                )
            max_length = self.model_max_length
        if truncation != "do_not_truncate":
            needed = self.num_special_tokens_to_add(pair)
            if max_length < needed + 1 and not (truncation == "only_second" and pair):
                raise ValueError(
                    f"max_length={max_length} leaves no room for text: {needed} special tokens are added. "
                    f"Use max_length >= {needed + 1}."
                )
        return padding, truncation, max_length

    def _rows_for_example(self, first: Segment, second: Segment | None, add_special_tokens: bool, truncation: str,
                          max_length: int | None, stride: int, overflow: bool) -> list[dict[str, list]]:
        pair = second is not None
        budget = None
        if truncation != "do_not_truncate":
            budget = max_length - (self.num_special_tokens_to_add(pair) if add_special_tokens else 0)
        len_first, len_second = len(first.ids), len(second.ids) if pair else 0
        if budget is None or len_first + len_second <= budget:
            rows = [self._build_row(first, second, add_special_tokens)]
        else:
            rows = self._truncated_rows(first, second, truncation, budget, stride, overflow, add_special_tokens)
        if truncation == "do_not_truncate" and not self._warned_too_long and len(rows[0]["input_ids"]) > self.model_max_length:
            self._warned_too_long = True
            logger.warning(
                "A sequence is %d tokens long, more than this model's maximum of %d; the model will fail on it. "
                "Pass truncation=True (and max_length=...) to cut it.", len(rows[0]["input_ids"]), self.model_max_length)
        return rows

    def _truncated_rows(self, first: Segment, second: Segment | None, truncation: str, budget: int, stride: int,
                        overflow: bool, add_special_tokens: bool) -> list[dict[str, list]]:
        keep_first, keep_second = keep_counts(truncation, len(first.ids),
                                              len(second.ids) if second is not None else None, budget)
        side = self.truncation_side
        if not overflow:
            second_kept = second.part(cut_slice(len(second.ids), keep_second, side)) if second is not None else None
            return [self._build_row(first.part(cut_slice(len(first.ids), keep_first, side)), second_kept,
                                    add_special_tokens)]
        if truncation == "only_second":
            return [self._build_row(first, second.part(window), add_special_tokens)
                    for window in window_slices(len(second.ids), keep_second, stride, side)]
        return [self._build_row(first.part(window), second, add_special_tokens)
                for window in window_slices(len(first.ids), keep_first, stride, side)]

    def _build_row(self, first: Segment, second: Segment | None, add_special_tokens: bool) -> dict[str, Any]:
        pair_ids = second.ids if second is not None else None
        if add_special_tokens:
            input_ids = self.build_inputs_with_special_tokens(first.ids, pair_ids)
            token_type_ids = self.create_token_type_ids_from_sequences(first.ids, pair_ids)
            special = self.get_special_tokens_mask(first.ids, pair_ids)
        else:
            input_ids = first.ids + (pair_ids or [])
            token_type_ids = [0] * len(first.ids) + [1] * len(pair_ids or [])
            special = [0] * len(input_ids)
        return {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": [1] * len(input_ids),
                "special_tokens_mask": special, "_parts": (first, second), "_padding": ("right", 0)}

    @staticmethod
    def _annotations(row: dict[str, Any]) -> dict[str, list]:
        """Char offsets, word indices and sequence indices of a row's tokens (fast tokenizer only).

        Text tokens are the row's non-special tokens, the first text's before the second's, whatever the
        family's special-token layout.
        """
        cached = row.get("_annotations")
        if cached is not None:
            return cached
        side, missing = row["_padding"]
        special = row["special_tokens_mask"]
        special = special[: len(special) - missing] if side == "right" else special[missing:]
        segments = [segment for segment in row["_parts"] if segment is not None]
        text = iter([(number, offset, word) for number, segment in enumerate(segments)
                     for offset, word in zip(segment.offsets, segment.words)])
        offsets, words, sequences = [], [], []
        for is_special in special:
            number, offset, word = (None, (0, 0), None) if is_special else next(text)
            offsets.append(offset), words.append(word), sequences.append(number)
        if missing:
            offsets, words, sequences = (
                (values + [fill] * missing) if side == "right" else ([fill] * missing + values)
                for values, fill in ((offsets, (0, 0)), (words, None), (sequences, None)))
        row["_annotations"] = {"offset_mapping": offsets, "word_ids": words, "sequence_ids": sequences}
        return row["_annotations"]

    @staticmethod
    def _padding_target(strategy: str, max_length: int | None, multiple: int | None, lengths) -> int | None:
        if strategy == "do_not_pad":
            return None
        target = max(lengths, default=0) if strategy == "longest" else max_length
        if multiple:
            target = -(-target // multiple) * multiple
        return target

    def _pad_row(self, row: dict[str, Any], target: int, side: str) -> None:
        missing = target - len(row["input_ids"])
        if missing <= 0:
            return
        if self.pad_token_id is None:
            raise ValueError("This tokenizer has no pad token, so it cannot pad. Set tokenizer.pad_token = '[PAD]' "
                             "(a token of its vocabulary) or pass padding=False.")
        fills = {"input_ids": self.pad_token_id, "token_type_ids": self.pad_token_type_id, "attention_mask": 0,
                 "special_tokens_mask": 1}
        for key, fill in fills.items():
            if key in row:
                row[key] = row[key] + [fill] * missing if side == "right" else [fill] * missing + row[key]
        if "_padding" in row:
            row["_padding"] = (side, missing)

    # ---- convenience entry points ----

    def encode(self, text: Any, text_pair: Any = None, **kwargs: Any) -> list[int]:
        """The input ids of one text or pair, with special tokens."""
        return self(text, text_pair, **kwargs)["input_ids"]

    def encode_plus(self, text: Any, text_pair: Any = None, **kwargs: Any) -> BatchEncoding:
        """One text or pair; as in v3, each may also be a list of ids or of tokens (see ``prepare_for_model``)."""
        if _is_ids_or_tokens(text, kwargs.get("is_split_into_words", False)):
            return self.prepare_for_model(self._as_ids(text), self._as_ids(text_pair), **kwargs)
        if isinstance(text, (list, tuple)) and not kwargs.get("is_split_into_words"):
            raise TypeError("encode_plus takes one text (or pair); for a batch use tokenizer(texts) or batch_encode_plus.")
        return self(text, text_pair, **kwargs)

    def batch_encode_plus(self, batch_text_or_text_pairs: Sequence[Any], **kwargs: Any) -> BatchEncoding:
        """A batch of texts or (text, pair) tuples; as in v3, each text may also be a list of ids or tokens."""
        if not isinstance(batch_text_or_text_pairs, (list, tuple)):
            raise TypeError(f"batch_encode_plus takes a list of texts or of (text, pair) tuples, got "
                            f"{type(batch_text_or_text_pairs).__name__}.")
        items = list(batch_text_or_text_pairs)
        split = kwargs.get("is_split_into_words", False)
        pairs = [item if isinstance(item, tuple) and len(item) == 2 and not all(isinstance(x, int) for x in item)
                 else (item, None) for item in items]
        if items and all(_is_ids_or_tokens(first, split) for first, _ in pairs):
            if len({second is None for _, second in pairs}) > 1:
                raise TypeError("batch_encode_plus needs every item to be a pair, or none of them.")
            firsts = [Segment(self._as_ids(first)) for first, _ in pairs]
            seconds = None if pairs[0][1] is None else [Segment(self._as_ids(second)) for _, second in pairs]
            return self._encode_segments(firsts, seconds, True, ids_given=True, **self._ids_options(kwargs))
        return self(items, **kwargs)

    def prepare_for_model(self, ids: Sequence[int], pair_ids: Sequence[int] | None = None,
                          **kwargs: Any) -> BatchEncoding:
        """Model inputs from word-piece ids: special tokens, truncation, padding, with ``__call__``'s options.

        With ``return_overflowing_tokens`` the result stays one row, and when something was cut it carries
        ``overflowing_tokens`` (the cut ids plus ``stride`` ids before them) and ``num_truncated_tokens``, as
        v3's ``encode_plus`` did.
        """
        second = Segment(list(pair_ids)) if pair_ids is not None else None
        return self._encode_segments([Segment(list(ids))], None if second is None else [second], False, ids_given=True,
                                     **self._ids_options(kwargs))

    def _as_ids(self, value: Any) -> list[int] | None:
        """A list of ids as it is, a list of tokens through the vocabulary, None as None."""
        if value is None or all(isinstance(item, (int, np.integer)) for item in value):
            return None if value is None else [int(item) for item in value]
        return self.convert_tokens_to_ids(list(value))

    @staticmethod
    def _ids_options(kwargs: dict[str, Any]) -> dict[str, Any]:
        """``__call__``'s options with their defaults for input that is already ids."""
        kwargs = dict(kwargs)
        kwargs.pop("is_split_into_words", None)  # ids need no word splitting
        padding, truncation = _apply_v3_keywords(kwargs, kwargs.pop("padding", False), kwargs.pop("truncation", None))
        options = {**_call_defaults(), "padding": padding, "truncation": truncation}
        del options["is_split_into_words"]
        for key, value in kwargs.items():
            if key not in options:
                raise TypeError(unknown_keyword_message(key, list(options), "tokenizer argument"))
            options[key] = value
        if options["return_offsets_mapping"]:
            raise ValueError("return_offsets_mapping needs text; ids and tokens carry no character offsets.")
        return options

    # ---- pad: used by data collators ----

    def pad(self, encoded_inputs: Any, padding: bool | str = True, max_length: int | None = None,
            pad_to_multiple_of: int | None = None, padding_side: str | None = None,
            return_attention_mask: bool | None = None, return_tensors: str | None = None) -> BatchEncoding:
        """Pad already tokenized examples (a list of dicts, or a dict of lists) to one length.

        input_ids, token_type_ids, attention_mask and special_tokens_mask are padded; any other key
        (labels, ...) is passed through as it is.
        """
        single = False
        if isinstance(encoded_inputs, Mapping):
            keys = list(encoded_inputs)
            values = encoded_inputs[keys[0]] if keys else []
            if keys and values is not None and len(values) and not _is_scalar(_first_item(values)):
                encoded_inputs = [{key: encoded_inputs[key][i] for key in keys} for i in range(len(values))]
            else:
                encoded_inputs = [dict(encoded_inputs)]
                single = True
        if not isinstance(encoded_inputs, (list, tuple)) or not encoded_inputs:
            raise ValueError(f"pad() needs a non-empty list of encoded examples, got {_describe(encoded_inputs)}.")
        rows = [{key: _as_list(value) for key, value in dict(example).items()} for example in encoded_inputs]
        if "input_ids" not in rows[0]:
            raise ValueError(f"pad() needs 'input_ids' in every example; got keys {sorted(rows[0])}.")
        strategy, _, max_length = self._resolve_strategies(padding, False, max_length, pair=False)
        for row in rows:
            if return_attention_mask is not False and "attention_mask" not in row:
                row["attention_mask"] = [1] * len(row["input_ids"])
        target = self._padding_target(strategy, max_length, pad_to_multiple_of, (len(r["input_ids"]) for r in rows))
        if target is not None:
            for row in rows:
                self._pad_row(row, target, padding_side or self.padding_side)
        data = {key: [row[key] for row in rows] for key in rows[0]}
        if return_attention_mask is False:
            data.pop("attention_mask", None)
        if single:
            data = {key: value[0] for key, value in data.items()}
        return BatchEncoding(data, tensor_type=return_tensors)

    # ---- decoding ----

    def decode(self, token_ids: Any, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None) -> str:
        ids = _as_list(token_ids)
        if isinstance(ids, int):
            ids = [ids]
        if ids and isinstance(ids[0], list):
            raise TypeError("decode takes one sequence of ids; use batch_decode for a batch.")
        text = self._decode_ids(ids, skip_special_tokens)
        clean = self.clean_up_tokenization_spaces if clean_up_tokenization_spaces is None else clean_up_tokenization_spaces
        return clean_up_tokenization(text) if clean else text

    def _decode_ids(self, ids: list[int], skip_special_tokens: bool) -> str:
        return self._decode_tokens(self.convert_ids_to_tokens(ids, skip_special_tokens=skip_special_tokens))

    def batch_decode(self, sequences: Any, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool | None = None) -> list[str]:
        return [self.decode(ids, skip_special_tokens, clean_up_tokenization_spaces) for ids in _as_list(sequences)]

    # ---- save / load ----

    def _config_dict(self) -> dict[str, Any]:
        config = {name: getattr(self, name) for name in self.init_options}
        config.update(self.special_tokens_map)
        config.update(
            model_max_length=self.model_max_length, padding_side=self.padding_side,
            truncation_side=self.truncation_side, clean_up_tokenization_spaces=self.clean_up_tokenization_spaces,
            tokenizer_class=type(self).__name__.removesuffix("Fast"),
        )
        return config

    def save_pretrained(self, save_directory: str | os.PathLike) -> tuple[str, ...]:
        """Write the vocabulary, tokenizer_config.json and special_tokens_map.json (each atomically)."""
        folder = Path(save_directory)
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"save_pretrained needs a folder, but {folder} is a file.")
        folder.mkdir(parents=True, exist_ok=True)
        self._save_vocabulary(folder)
        atomic_write_text(folder / TOKENIZER_CONFIG_NAME, json.dumps(self._config_dict(), indent=2, sort_keys=True) + "\n")
        atomic_write_text(folder / SPECIAL_TOKENS_MAP_NAME, json.dumps(self.special_tokens_map, indent=2) + "\n")
        return tuple(str(folder / name) for name in (TOKENIZER_CONFIG_NAME, SPECIAL_TOKENS_MAP_NAME, *self.vocab_files))

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **kwargs: Any) -> PreTrainedTokenizerBase:
        """Load from a folder, the HF cache, a packaged model or the hub; kwargs override tokenizer_config.json."""
        hub_kwargs, kwargs = split_hub_kwargs(kwargs)
        folder = resolve_model_dir(name_or_path, **hub_kwargs)
        options = cls._read_folder_options(folder)
        allowed = set(cls._accepted_options())
        for key in kwargs:
            if key not in allowed:
                raise TypeError(unknown_keyword_message(key, sorted(allowed), f"{cls.__name__} option"))
        options.update(cls._checked_options(kwargs))
        tokenizer = cls._from_folder(folder, options)
        if tokenizer.additional_special_tokens:
            tokenizer._add_to_vocabulary(list(tokenizer.additional_special_tokens), special=True)
        tokenizer.name_or_path = str(name_or_path)
        return tokenizer

    @classmethod
    def _accepted_options(cls) -> tuple[str, ...]:
        return (*cls.init_options, *SPECIAL_TOKEN_NAMES, "model_max_length", "padding_side", "truncation_side",
                "clean_up_tokenization_spaces", "additional_special_tokens")

    @classmethod
    def _read_folder_options(cls, folder: Path) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for name in (SPECIAL_TOKENS_MAP_NAME, TOKENIZER_CONFIG_NAME):
            path = folder / name
            if not path.is_file():
                continue
            try:
                content = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path} is not valid JSON ({error}).") from error
            if not isinstance(content, dict):
                raise ValueError(f"{path} must hold a JSON object, found {type(content).__name__}.")
            file_options = {}
            for key, value in content.items():
                if isinstance(value, dict) and "content" in value:  # AddedToken serialisation
                    value = value["content"]
                if key == "additional_special_tokens" and isinstance(value, list):
                    value = [item["content"] if isinstance(item, dict) else item for item in value]
                file_options[key] = value
            options.update(cls._checked_options(file_options, path))
        return options

    @classmethod
    def _checked_options(cls, options: dict[str, Any], source: Path | None = None) -> dict[str, Any]:
        """The options this class accepts, type-checked against its parameters; a misfit names ``source``."""
        accepted = set(cls._accepted_options())
        options = {key: value for key, value in options.items() if key in accepted}
        length = options.get("model_max_length")
        if isinstance(length, (int, float)) and not isinstance(length, bool) and length >= VERY_LARGE_LENGTH:
            options["model_max_length"] = None  # how HF writes "no limit"
        try:
            return coerce_values(options, parameter_types(cls), cls.__name__)
        except TypeError as error:
            if source is None:
                raise
            raise ConfigFileError(f"{source}: {error} Fix the file.") from error

    @classmethod
    def _from_folder(cls, folder: Path, options: dict[str, Any]) -> PreTrainedTokenizerBase:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name_or_path={self.name_or_path!r}, vocab_size={self.vocab_size}, "
                f"model_max_length={self.model_max_length}, padding_side={self.padding_side!r})")


# ---- helpers -------------------------------------------------------------------------------------


def _call_defaults() -> dict[str, Any]:
    """``PreTrainedTokenizerBase.__call__``'s keyword options and their defaults."""
    parameters = inspect.signature(PreTrainedTokenizerBase.__call__).parameters
    return {name: p.default for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _apply_v3_keywords(options: dict[str, Any], padding: Any, truncation: Any) -> tuple[Any, Any]:
    """Pops v3's ``pad_to_max_length`` / ``truncation_strategy`` from ``options`` into (padding, truncation)."""
    if "pad_to_max_length" in options:
        if options.pop("pad_to_max_length"):
            _warn_once("pad_to_max_length=True is deprecated; use padding='max_length'.")
            padding = "max_length"
    if "truncation_strategy" in options:
        truncation = options.pop("truncation_strategy")
        _warn_once(f"truncation_strategy={truncation!r} is deprecated; use truncation={truncation!r}.")
    return padding, truncation


def _is_ids_or_tokens(value: Any, is_split_into_words: bool) -> bool:
    """A non-empty list of ids, or of tokens (strings, when they are not words to split)."""
    if not isinstance(value, (list, tuple)) or not value:
        return False
    if all(isinstance(item, (int, np.integer)) and not isinstance(item, bool) for item in value):
        return True
    return not is_split_into_words and all(isinstance(item, str) for item in value)


def _first_item(values: Any) -> Any:
    return values[0] if len(values) else None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) or (hasattr(value, "ndim") and value.ndim == 0)


def _as_list(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "numpy"):
        return value.numpy().tolist()
    return value


def _describe(value: Any) -> str:
    text = repr(value)
    return (text[:60] + "...") if len(text) > 60 else text


def _normalise_inputs(text: Any, text_pair: Any, is_split_into_words: bool) -> tuple[list, list | None, bool]:
    """-> (first texts, second texts or None, whether the input was a batch). Raises TypeError on bad shapes."""
    unit = "a list of words" if is_split_into_words else "a string"

    def is_unit(value: Any) -> bool:
        if is_split_into_words:
            return isinstance(value, (list, tuple)) and all(isinstance(word, str) for word in value)
        return isinstance(value, str)

    def bad(name: str, value: Any) -> TypeError:
        return TypeError(
            f"{name} must be {unit}, a list of them (a batch), or for pairs a list of (text, text_pair) tuples; "
            f"got {_describe(value)} ({type(value).__name__})."
        )

    if text is None:
        raise bad("text", text)
    if is_unit(text) and not (is_split_into_words and text and isinstance(text[0], (list, tuple))):
        if text_pair is None:
            return [text], None, False
        if not is_unit(text_pair):
            raise bad("text_pair", text_pair)
        return [text], [text_pair], False
    if not isinstance(text, (list, tuple)):
        raise bad("text", text)
    if text_pair is None and text and all(isinstance(item, (list, tuple)) and len(item) == 2 and all(is_unit(x) for x in item)
                                          for item in text) and not is_split_into_words:
        return [item[0] for item in text], [item[1] for item in text], True
    for item in text:
        if not is_unit(item):
            raise bad("each text in the batch", item)
    if text_pair is None:
        return list(text), None, True
    if not isinstance(text_pair, (list, tuple)) or len(text_pair) != len(text):
        raise TypeError(f"text_pair must be a list as long as text ({len(text)}), got {_describe(text_pair)}.")
    for item in text_pair:
        if not is_unit(item):
            raise bad("each text_pair in the batch", item)
    return list(text), list(text_pair), True


_CLEANUPS = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
             (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


def clean_up_tokenization(text: str) -> str:
    """Undo the spaces that joining word pieces puts before punctuation and English contractions."""
    for spaced, joined in _CLEANUPS:
        text = text.replace(spaced, joined)
    return text


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)


PreTrainedTokenizer = PreTrainedTokenizerBase
"""HF's name for the base of the pure-Python tokenizers; here every tokenizer shares one base."""
