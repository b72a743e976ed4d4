"""token-classification (NER): a label per token, or entities grouped from them, with character offsets.

``aggregation_strategy``:

* ``none``: one entry per token (``entity``, ``score``, ``index``, ``word``, ``start``, ``end``);
* ``simple``: adjacent tokens with the same entity type (a ``B-`` starts a new one) become one
  ``entity_group`` whose score is the mean of the token scores;
* ``first`` / ``average`` / ``max``: first the word pieces of each word agree on one label (the first
  piece's, the label of the averaged scores, or the label of the most confident piece), then words
  are grouped as in ``simple``.

Labels in ``ignore_labels`` (default ``["O"]``) are dropped. With ``is_split_into_words=True`` an input
is a list of words, and offsets point into the words joined by ``delimiter`` (a space by default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Pipeline, softmax, tokens_to_string

STRATEGIES = ("none", "simple", "first", "average", "max")


class TokenClassificationPipeline(Pipeline):
    task = "token-classification"
    token_outputs = ("logits",)

    def _sanitize_parameters(self, aggregation_strategy: Any = None, ignore_labels: list[str] | None = None,
                             is_split_into_words: bool | None = None, delimiter: str | None = None) -> tuple[dict, dict]:
        pre: dict[str, Any] = {}
        if is_split_into_words is not None:
            pre["is_split_into_words"] = is_split_into_words
        if delimiter is not None:
            pre["delimiter"] = delimiter
        post: dict[str, Any] = {}
        if aggregation_strategy is not None:
            name = getattr(aggregation_strategy, "value", aggregation_strategy).lower()
            if name not in STRATEGIES:
                raise ValueError(f"aggregation_strategy={aggregation_strategy!r} is not one of {STRATEGIES}.")
            post["aggregation_strategy"] = name
        if ignore_labels is not None:
            post["ignore_labels"] = list(ignore_labels)
        return pre, post

    def __call__(self, inputs: Any, batch_size: int | None = None, **kwargs: Any) -> Any:
        split = kwargs.get("is_split_into_words", self._defaults[0].get("is_split_into_words", False))
        if split and isinstance(inputs, (list, tuple)) and inputs and all(isinstance(word, str) for word in inputs):
            return super().__call__([inputs], batch_size=batch_size, **kwargs)  # one sentence of words, HF's shape
        return super().__call__(inputs, batch_size=batch_size, **kwargs)

    def preprocess(self, item: Any, is_split_into_words: bool = False, delimiter: str = " ") -> list[dict]:
        if is_split_into_words:
            if not isinstance(item, (list, tuple)) or not all(isinstance(word, str) for word in item):
                raise ValueError("With is_split_into_words=True each input is a list of words.")
            text, starts = delimiter.join(item), _word_starts(item, delimiter)
        elif isinstance(item, str):
            text, starts = item, None
        else:
            raise ValueError(f"token-classification takes a string (or a list of strings), got {type(item).__name__}.")
        encoding = self.tokenizer(list(item) if is_split_into_words else item, truncation=True,
                                  is_split_into_words=is_split_into_words, return_special_tokens_mask=True,
                                  return_offsets_mapping=True)
        feature = dict(encoding)
        feature["text"] = text
        if starts is not None:  # offsets are within each word: shift them into the joined text
            feature["offset_mapping"] = [(a + starts[w], b + starts[w]) if w is not None else (a, b)
                                         for (a, b), w in zip(feature["offset_mapping"], encoding.word_ids())]
        return [feature]

    def postprocess(self, item: Any, features: list[dict], outputs: list[dict], aggregation_strategy: str = "none",
                    ignore_labels: list[str] | None = None) -> list[dict]:
        feature = features[0]
        scores = softmax(outputs[0]["logits"].astype(np.float64))
        tokens = self._token_entries(feature, scores)
        if aggregation_strategy in ("none", "simple"):
            entities = [self._labelled(token, token["scores"]) for token in tokens]
        else:
            entities = [self._aggregate_word(group, aggregation_strategy) for group in _word_groups(tokens)]
        if aggregation_strategy != "none":
            entities = self._group_entities(entities)
        ignore = ["O"] if ignore_labels is None else ignore_labels
        return [entity for entity in entities if entity.get("entity", entity.get("entity_group")) not in ignore]

    def _token_entries(self, feature: dict, scores: np.ndarray) -> list[dict]:
        text, entries = feature["text"], []
        for index, token_id in enumerate(feature["input_ids"]):
            if feature["special_tokens_mask"][index]:
                continue
            start, end = feature["offset_mapping"][index]
            word = self.tokenizer.convert_ids_to_tokens(token_id)
            is_subword = len(word) != len(text[start:end])
            if token_id == self.tokenizer.unk_token_id:
                word, is_subword = text[start:end], False
            entries.append({"word": word, "scores": scores[index], "start": start, "end": end, "index": index,
                            "is_subword": is_subword})
        return entries

    def _labelled(self, token: dict, scores: np.ndarray) -> dict:
        best = int(scores.argmax())
        return {"entity": self.model.config.id2label[best], "score": float(scores[best]), "index": token["index"],
                "word": token["word"], "start": token["start"], "end": token["end"]}

    def _aggregate_word(self, pieces: list[dict], strategy: str) -> dict:
        if strategy == "first":
            scores = pieces[0]["scores"]
        elif strategy == "max":
            scores = max(pieces, key=lambda piece: piece["scores"].max())["scores"]
        else:
            scores = np.nanmean(np.stack([piece["scores"] for piece in pieces]), axis=0)
        best = int(scores.argmax())
        return {"entity": self.model.config.id2label[best], "score": float(scores[best]),
                "word": tokens_to_string(self.tokenizer, [piece["word"] for piece in pieces]),
                "start": pieces[0]["start"], "end": pieces[-1]["end"]}

    def _group_entities(self, entities: list[dict]) -> list[dict]:
        groups: list[list[dict]] = []
        for entity in entities:
            prefix, kind = _split_label(entity["entity"])
            if groups and prefix != "B" and kind == _split_label(groups[-1][-1]["entity"])[1]:
                groups[-1].append(entity)
            else:
                groups.append([entity])
        return [{"entity_group": group[0]["entity"].split("-", 1)[-1],
                 "score": float(np.nanmean([entity["score"] for entity in group])),
                 "word": tokens_to_string(self.tokenizer, [entity["word"] for entity in group]),
                 "start": group[0]["start"], "end": group[-1]["end"]} for group in groups]


def _split_label(label: str) -> tuple[str, str]:
    """'B-PER' -> ('B', 'PER'); 'I-PER' and 'PER' -> ('I', 'PER')."""
    if label.startswith(("B-", "I-")):
        return label[0], label[2:]
    return "I", label


def _word_groups(tokens: list[dict]) -> list[list[dict]]:
    groups: list[list[dict]] = []
    for token in tokens:
        if groups and token["is_subword"]:
            groups[-1].append(token)
        else:
            groups.append([token])
    return groups


def _word_starts(words: list[str], delimiter: str) -> list[int]:
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + len(delimiter)
    return starts
