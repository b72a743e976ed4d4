"""Token classification (NER, POS, chunking) data: readers, word -> sub-token label alignment, entity metrics.

No torch. Files hold one example per sentence:

* CoNLL: one token per line, columns separated by whitespace (token first, tag last by default),
  a blank line between sentences, ``-DOCSTART-`` lines skipped. Every line must have as many
  columns as the file's first token line.
* JSONL: one object per line with a list of words (``tokens``) and a list of tags (``tags`` or ``ner_tags``).

Entity scores follow seqeval's default (conlleval) chunking, so IOB1, IOB2, IOE1, IOE2 and IOBES tags
are all read the way seqeval reads them; BILOU's ``L-`` and ``U-`` are read as ``E-`` and ``S-``.
``scheme=...`` asks for seqeval's strict mode instead (and needs the seqeval package).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..constants import IGNORE_INDEX
from ..utils import require
from .readers import DataFormatError, jsonl_values, open_text

__all__ = [
    "TokenExample",
    "read_conll",
    "read_token_jsonl",
    "read_token_examples",
    "label_list_from",
    "check_labels",
    "begin_to_inside",
    "align_labels_with_words",
    "tokenize_and_align_labels",
    "word_level_predictions",
    "get_entities",
    "entity_metrics",
    "token_classification_metrics",
    "entities_with_offsets",
]

CONLL_SUFFIXES = (".conll", ".conllu", ".iob", ".iob2", ".bio", ".bilou", ".txt", ".tsv")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_BILOU_TO_IOBES = {"L": "E", "U": "S"}


@dataclasses.dataclass(frozen=True)
class TokenExample:
    """One sentence: its words, their tags (None when unlabelled) and where it was read from."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...] | None = None
    path: str | None = None
    line: int | None = None


# ------------------------------------------------------------------------------------------ readers


def read_conll(path: str | os.PathLike, tag_column: int = -1) -> list[TokenExample]:
    """Sentences of a CoNLL file; the token is column 0, the tag column ``tag_column`` (None: unlabelled)."""
    path = Path(path)
    examples: list[TokenExample] = []
    columns: int | None = None
    words: list[str] = []
    tags: list[str] = []
    first_line = 0

    def close_sentence() -> None:
        if words:
            examples.append(TokenExample(tuple(words), tuple(tags) if tag_column is not None else None, str(path),
                                         first_line))
        words.clear(), tags.clear()

    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                close_sentence()
                continue
            if fields[0] == "-DOCSTART-":
                close_sentence()
                continue
            if columns is None:
                columns = len(fields)
                if tag_column is not None and columns < 2:
                    raise DataFormatError(path, number, f"expected a token and a tag separated by whitespace, got "
                                          f"{line.strip()!r}. For unlabelled text pass tag_column=None.")
            if len(fields) != columns:
                raise DataFormatError(path, number, f"{len(fields)} columns ({line.strip()!r}), but the file's first "
                                      f"token line has {columns}; every line needs the same columns (token ... tag).")
            if not words:
                first_line = number
            words.append(fields[0])
            if tag_column is not None:
                tags.append(fields[tag_column])
        close_sentence()
    if not examples:
        raise DataFormatError(path, None, "no sentences found (a CoNLL file has one 'token tag' per line).")
    return examples


def read_token_jsonl(path: str | os.PathLike, tokens_key: str = "tokens", tags_key: str | None = None,
                     label_names: Sequence[str] | None = None) -> list[TokenExample]:
    """Sentences of a JSONL file: ``{"tokens": [...], "tags": [...]}`` per line. ``tags_key`` defaults to
    ``tags`` or ``ner_tags``, whichever is present; integer tags are looked up in ``label_names``."""
    path = Path(path)
    examples = []
    for number, record in jsonl_values(path):
        if not isinstance(record, dict) or not isinstance(record.get(tokens_key), list):
            raise DataFormatError(path, number, f"expected an object with a list of words under {tokens_key!r}.")
        key = tags_key or next((k for k in ("tags", "ner_tags") if k in record), None)
        tokens = tuple(str(token) for token in record[tokens_key])
        tags = None if key is None else _tag_names(record[key], label_names, path, number)
        if tags is not None and len(tags) != len(tokens):
            raise DataFormatError(path, number, f"{len(tokens)} tokens but {len(tags)} tags; give one tag per token.")
        examples.append(TokenExample(tokens, tags, str(path), number))
    if not examples:
        raise DataFormatError(path, None, "no examples found (expected one JSON object per line).")
    return examples


def read_token_examples(path: str | os.PathLike, **kwargs: Any) -> list[TokenExample]:
    """CoNLL or JSONL, chosen by the file name (``.jsonl`` / ``.json``: JSONL; anything else: CoNLL)."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes if suffix.lower() not in (".gz", ".bz2")]
    if suffixes and suffixes[-1] in JSONL_SUFFIXES:
        return read_token_jsonl(path, **kwargs)
    return read_conll(path, **kwargs)



def _tag_names(values: Any, label_names: Sequence[str] | None, path: Path, line: int) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise DataFormatError(path, line, f"tags must be a list, got {type(values).__name__}.")
    names = []
    for value in values:
        if isinstance(value, str):
            names.append(value)
        elif isinstance(value, int) and label_names is not None and 0 <= value < len(label_names):
            names.append(label_names[value])
        else:
            raise DataFormatError(path, line, f"tag {value!r} is not a tag name; integer tags need label_names "
                                  f"(a list of {len(label_names) if label_names else 'the'} tag names) to be read.")
    return tuple(names)


# ------------------------------------------------------------------------------------------ labels


def label_list_from(examples: Iterable[TokenExample]) -> list[str]:
    """The sorted set of tags in the examples (as HF's run_ner builds its label list)."""
    return sorted({tag for example in examples for tag in (example.tags or ())})


def check_labels(examples: Iterable[TokenExample], label_list: Sequence[str]) -> None:
    """Raise DataFormatError naming the file and line of the first tag not in ``label_list``."""
    known = set(label_list)
    for example in examples:
        for offset, tag in enumerate(example.tags or ()):
            if tag not in known:
                raise DataFormatError(example.path, _tag_line(example, offset),
                                      f"tag {tag!r} (of token {example.tokens[offset]!r}) is not in the label list "
                                      f"{list(label_list)}; add it to the labels or fix the tag.")


def _tag_line(example: TokenExample, offset: int) -> int | None:
    """The line of a tag: in CoNLL each token has its own line; in JSONL the sentence's record is the line."""
    if example.line is None or example.path is None or example.path.lower().endswith(JSONL_SUFFIXES):
        return example.line
    return example.line + offset


def begin_to_inside(label_list: Sequence[str]) -> list[int]:
    """For each label id, the id of its ``I-`` form when it is a ``B-`` label with one (else itself)."""
    index = {label: i for i, label in enumerate(label_list)}
    return [index.get("I-" + label[2:], i) if label.startswith("B-") else i for i, label in enumerate(label_list)]


def align_labels_with_words(word_ids: Sequence[int | None], word_labels: Sequence[int], label_all_tokens: bool = False,
                            b_to_i: Sequence[int] | None = None) -> list[int]:
    """One label per token from one label per word: the first sub-token of a word gets the word's label;
    the others get -100 (ignored by the loss), or with ``label_all_tokens`` the label too (B- turned to I-
    through ``b_to_i``). Special tokens get -100."""
    labels, previous = [], None
    for word in word_ids:
        if word is None:
            labels.append(IGNORE_INDEX)
        elif word != previous:
            labels.append(word_labels[word])
        elif label_all_tokens:
            label = word_labels[word]
            labels.append(b_to_i[label] if b_to_i is not None else label)
        else:
            labels.append(IGNORE_INDEX)
        previous = word
    return labels


def tokenize_and_align_labels(tokenizer: Any, examples: Sequence[TokenExample], label_list: Sequence[str] | None,
                              max_length: int | None = None, label_all_tokens: bool = False,
                              padding: bool | str = False) -> list[dict[str, list[int]]]:
    """Tokenize words (``is_split_into_words``) and give each token a label id; unlabelled without a label_list."""
    encoding = tokenizer([list(example.tokens) for example in examples], is_split_into_words=True,
                         truncation=max_length is not None, max_length=max_length, padding=padding)
    label_to_id = None if label_list is None else {label: i for i, label in enumerate(label_list)}
    if label_to_id is not None:
        check_labels(examples, label_list)
    b_to_i = begin_to_inside(label_list) if label_list is not None else None
    features = []
    for index, example in enumerate(examples):
        feature = {key: encoding[key][index] for key in encoding}
        if label_to_id is not None and example.tags is not None:
            word_labels = [label_to_id[tag] for tag in example.tags]
            feature["labels"] = align_labels_with_words(encoding.word_ids(index), word_labels, label_all_tokens, b_to_i)
        features.append(feature)
    return features


def word_level_predictions(word_ids: Sequence[int | None], token_predictions: Sequence[Any]) -> list[Any]:
    """One prediction per word: the prediction of the word's first sub-token. Words cut off by truncation
    are missing from the end."""
    words: dict[int, Any] = {}
    for word, prediction in zip(word_ids, token_predictions):
        if word is not None and word not in words:
            words[word] = prediction
    return [words[word] for word in sorted(words)]


# ------------------------------------------------------------------------------------------ metrics


def _split_tag(tag: str) -> tuple[str, str]:
    """'B-PER' -> ('B', 'PER'); 'O' -> ('O', '_'). BILOU's L/U are read as E/S."""
    prefix = tag[0]
    kind = tag[1:].split("-", maxsplit=1)[-1] or "_"
    return _BILOU_TO_IOBES.get(prefix, prefix), kind


def _chunk_ends(prev: str, tag: str, prev_kind: str, kind: str) -> bool:
    if prev in ("E", "S"):
        return True
    if prev in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev not in ("O", ".") and prev_kind != kind


def _chunk_starts(prev: str, tag: str, prev_kind: str, kind: str) -> bool:
    if tag in ("B", "S"):
        return True
    if tag in ("E", "I") and prev in ("E", "S", "O"):
        return True
    return tag not in ("O", ".") and prev_kind != kind


def get_entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entities of one tag sequence as (type, first index, last index), read as seqeval's default mode does."""
    entities = []
    prev, prev_kind, begin = "O", "", 0
    for index, item in enumerate([*tags, "O"]):
        tag, kind = _split_tag(item)
        if _chunk_ends(prev, tag, prev_kind, kind):
            entities.append((prev_kind, begin, index - 1))
        if _chunk_starts(prev, tag, prev_kind, kind):
            begin = index
        prev, prev_kind = tag, kind
    return entities


def _ratios(correct: int, predicted: int, actual: int) -> tuple[float, float, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def entity_metrics(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]], per_type: bool = False,
                   scheme: str | None = None) -> dict[str, float]:
    """Micro precision / recall / F1 over entities and token accuracy, as seqeval computes them.

    ``per_type`` adds ``{TYPE}_precision``, ``_recall``, ``_f1`` and ``_number`` (the entity count in
    ``true_tags``). ``scheme`` ('IOB1', 'IOB2', 'IOE1', 'IOE2', 'IOBES', 'BILOU') switches to seqeval's
    strict mode, where a chunk must follow the scheme exactly.
    """
    if len(true_tags) != len(pred_tags) or any(len(t) != len(p) for t, p in zip(true_tags, pred_tags)):
        raise ValueError("true_tags and pred_tags must have the same number of sentences and of tags per sentence.")
    if scheme is not None:
        return _strict_metrics(true_tags, pred_tags, per_type, scheme)
    true_set = {(i, *entity) for i, tags in enumerate(true_tags) for entity in get_entities(list(tags))}
    pred_set = {(i, *entity) for i, tags in enumerate(pred_tags) for entity in get_entities(list(tags))}
    precision, recall, f1 = _ratios(len(true_set & pred_set), len(pred_set), len(true_set))
    total = sum(len(tags) for tags in true_tags)
    correct = sum(t == p for tags, preds in zip(true_tags, pred_tags) for t, p in zip(tags, preds))
    result = {"precision": precision, "recall": recall, "f1": f1, "accuracy": correct / total if total else 0.0}
    if per_type:
        for kind in sorted({entity[1] for entity in true_set | pred_set}):
            true_kind = {e for e in true_set if e[1] == kind}
            pred_kind = {e for e in pred_set if e[1] == kind}
            p, r, f = _ratios(len(true_kind & pred_kind), len(pred_kind), len(true_kind))
            result.update({f"{kind}_precision": p, f"{kind}_recall": r, f"{kind}_f1": f, f"{kind}_number": len(true_kind)})
    return result


def _strict_metrics(true_tags, pred_tags, per_type: bool, scheme: str) -> dict[str, float]:
    metrics = require("seqeval.metrics", "train", f"Strict entity scoring (scheme={scheme!r})")
    schemes = require("seqeval.scheme", "train", f"Strict entity scoring (scheme={scheme!r})")
    if not hasattr(schemes, scheme.upper()):
        raise ValueError(f"scheme={scheme!r} is not one of IOB1, IOB2, IOE1, IOE2, IOBES, BILOU.")
    kwargs = dict(mode="strict", scheme=getattr(schemes, scheme.upper()), zero_division=0)
    true_tags, pred_tags = [list(t) for t in true_tags], [list(p) for p in pred_tags]
    result = {"precision": float(metrics.precision_score(true_tags, pred_tags, **kwargs)),
              "recall": float(metrics.recall_score(true_tags, pred_tags, **kwargs)),
              "f1": float(metrics.f1_score(true_tags, pred_tags, **kwargs)),
              "accuracy": float(metrics.accuracy_score(true_tags, pred_tags))}
    if per_type:
        report = metrics.classification_report(true_tags, pred_tags, output_dict=True, **kwargs)
        for kind, scores in report.items():
            if not kind.endswith(" avg"):
                result.update({f"{kind}_precision": float(scores["precision"]), f"{kind}_recall": float(scores["recall"]),
                               f"{kind}_f1": float(scores["f1-score"]), f"{kind}_number": int(scores["support"])})
    return result


def token_classification_metrics(predictions: Any, label_ids: Any, label_list: Sequence[str], per_type: bool = False,
                                 scheme: str | None = None) -> dict[str, float]:
    """Entity scores from model output: ``predictions`` (B T) label ids or (B T L) logits, ``label_ids`` (B T)
    with -100 on tokens that carry no word label (special tokens, padding, later sub-tokens)."""
    predictions, label_ids = np.asarray(predictions), np.asarray(label_ids)
    if predictions.ndim == 3:
        predictions = predictions.argmax(-1)
    if predictions.shape != label_ids.shape:
        raise ValueError(f"predictions {predictions.shape} and label_ids {label_ids.shape} must have the same shape (B T).")
    true_tags, pred_tags = [], []
    for row_predictions, row_labels in zip(predictions, label_ids):
        keep = row_labels != IGNORE_INDEX
        true_tags.append([label_list[i] for i in row_labels[keep]])
        pred_tags.append([label_list[i] for i in row_predictions[keep]])
    return entity_metrics(true_tags, pred_tags, per_type=per_type, scheme=scheme)


def entities_with_offsets(words: Sequence[str], tags: Sequence[str]) -> list[dict[str, Any]]:
    """Entities of a tagged sentence with character offsets into ``" ".join(words)``."""
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    return [{"entity_group": kind, "word": " ".join(words[first:last + 1]), "start": starts[first],
             "end": starts[last] + len(words[last]), "first_word": first, "last_word": last}
            for kind, first, last in get_entities(list(tags))]
