"""SQuAD under the v3 names that ``run_squad.py`` imports: ``SquadV1Processor`` / ``SquadV2Processor``,
``SquadExample``, ``SquadFeatures``, ``SquadResult`` and ``squad_convert_examples_to_features``.

They are a thin layer over ``data/question_answering.py``: files are read by ``read_squad`` and windows are cut
by the fast tokenizer with character offsets, so answers map back to the context without v3's whitespace-token
bookkeeping. Two v3 meanings are kept: ``doc_stride`` is the step from one window's start to the next (the
fast-tokenizer recipe's ``doc_stride`` is the overlap instead), and the question is cut to
``max_query_length`` tokens. No torch at import; ``return_dataset="pt"`` / ``"tf"`` imports the framework.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any, ClassVar

from ...utils import get_logger
from ..question_answering import QAExample, prepare_train_features, prepare_validation_features, read_squad
from .glue import DataProcessor

__all__ = [
    "SquadExample",
    "SquadFeatures",
    "SquadResult",
    "SquadProcessor",
    "SquadV1Processor",
    "SquadV2Processor",
    "squad_convert_examples_to_features",
]

logger = get_logger(__name__)


@dataclasses.dataclass
class SquadExample:
    """One question as v3 kept it. Training examples carry their first answer in ``answer_text`` /
    ``start_position_character``; evaluation examples carry every answer in ``answers``
    (``[{"text", "answer_start"}]``)."""

    qas_id: str
    question_text: str
    context_text: str
    answer_text: str | None
    start_position_character: int | None
    title: str = ""
    answers: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    is_impossible: bool = False

    def as_qa_example(self) -> QAExample:
        if self.is_impossible:
            pairs: tuple[tuple[str, int], ...] = ()
        elif self.answer_text is not None:
            pairs = ((self.answer_text, int(self.start_position_character)),)
        else:
            pairs = tuple((answer["text"], int(answer["answer_start"])) for answer in self.answers)
        return QAExample(str(self.qas_id), self.question_text, self.context_text, pairs)


@dataclasses.dataclass
class SquadFeatures:
    """One window of a question's context. ``offset_mapping`` holds each token's character span in the
    context (None outside it); ``p_mask`` is 1 on tokens that cannot be part of an answer."""

    input_ids: list[int]
    attention_mask: list[int]
    token_type_ids: list[int] | None
    cls_index: int
    p_mask: list[int]
    example_index: int
    unique_id: int
    qas_id: str
    offset_mapping: list[tuple[int, int] | None]
    start_position: int = 0
    end_position: int = 0
    is_impossible: bool = False


@dataclasses.dataclass
class SquadResult:
    """The model's start and end logits for the window with ``unique_id``."""

    unique_id: int
    start_logits: list[float]
    end_logits: list[float]
    start_top_index: Any = None
    end_top_index: Any = None
    cls_logits: Any = None


class SquadProcessor(DataProcessor):
    """Reads ``train_file`` / ``dev_file`` of a data folder (or the file named by ``filename``)."""

    train_file: ClassVar[str | None] = None
    dev_file: ClassVar[str | None] = None

    def get_train_examples(self, data_dir: str | os.PathLike | None, filename: str | None = None) -> list[SquadExample]:
        return self._examples(data_dir, filename or self._file("train_file"), training=True)

    def get_dev_examples(self, data_dir: str | os.PathLike | None, filename: str | None = None) -> list[SquadExample]:
        return self._examples(data_dir, filename or self._file("dev_file"), training=False)

    def get_examples_from_dataset(self, dataset: Any, evaluate: bool = False) -> list[SquadExample]:
        """Examples from ``tensorflow_datasets.load("squad")`` (its ``train`` / ``validation`` split)."""
        examples = []
        for record in dataset["validation" if evaluate else "train"]:
            answers = [{"text": _text(t), "answer_start": int(s.numpy())}
                       for t, s in zip(record["answers"]["text"], record["answers"]["answer_start"])]
            first = answers[0] if answers and not evaluate else {"text": None, "answer_start": None}
            examples.append(SquadExample(_text(record["id"]), _text(record["question"]), _text(record["context"]),
                                         first["text"], first["answer_start"], _text(record["title"]),
                                         answers if evaluate else []))
        return examples

    def get_labels(self) -> list[str]:
        raise NotImplementedError("SQuAD predicts answer spans, it has no label list.")

    def _file(self, attribute: str) -> str:
        name = getattr(self, attribute)
        if name is None:
            raise ValueError("Use SquadV1Processor or SquadV2Processor, which know the SQuAD file names, "
                             "or pass filename=...")
        return name

    @staticmethod
    def _examples(data_dir: str | os.PathLike | None, filename: str, training: bool) -> list[SquadExample]:
        examples = []
        for example in read_squad(os.path.join(data_dir or "", filename)):
            first = example.answers[0] if example.answers and training else (None, None)
            answers = [] if training else [{"text": t, "answer_start": s} for t, s in example.answers]
            examples.append(SquadExample(example.id, example.question, example.context, first[0], first[1],
                                         answers=answers, is_impossible=not example.answers))
        return examples


def _text(tensor: Any) -> str:
    return tensor.numpy().decode("utf-8")


class SquadV1Processor(SquadProcessor):
    train_file = "train-v1.1.json"
    dev_file = "dev-v1.1.json"


class SquadV2Processor(SquadProcessor):
    train_file = "train-v2.0.json"
    dev_file = "dev-v2.0.json"


FIRST_UNIQUE_ID = 1000000000


def squad_convert_examples_to_features(examples: Sequence[SquadExample], tokenizer: Any, max_seq_length: int,
                                       doc_stride: int, max_query_length: int, is_training: bool,
                                       return_dataset: bool | str = False, threads: int = 1,
                                       tqdm_enabled: bool = True) -> Any:
    """Windows of every example's context, ``max_seq_length`` tokens each, with the question cut to
    ``max_query_length`` tokens in front; consecutive windows start ``doc_stride`` context tokens apart.

    Returns the list of ``SquadFeatures``; with ``return_dataset="pt"`` also a ``TensorDataset`` of
    (input_ids, attention_mask, token_type_ids, start_positions, end_positions, cls_index, p_mask,
    is_impossible) for training or (input_ids, attention_mask, token_type_ids, feature_index, cls_index,
    p_mask) for evaluation, and with ``"tf"`` a ``tf.data.Dataset`` of (inputs, labels). ``threads`` is
    accepted and unused: the fast tokenizer does the work.
    """
    if not getattr(tokenizer, "tracks_offsets", False):
        raise ValueError(f"squad_convert_examples_to_features maps answers through character offsets, which "
                         f"{type(tokenizer).__name__} does not track. Load the tokenizer with "
                         "AutoTokenizer.from_pretrained(...) (fast by default) or use BertTokenizerFast.")
    if return_dataset not in (False, None, "pt", "tf"):
        raise ValueError(f"return_dataset={return_dataset!r} must be False, 'pt' or 'tf'.")
    features: list[SquadFeatures] = []
    for example_index, example in enumerate(examples):
        qa_example = _with_short_question(tokenizer, example.as_qa_example(), max_query_length)
        question_length = len(tokenizer(qa_example.question, add_special_tokens=False)["input_ids"])
        room = max_seq_length - question_length - tokenizer.num_special_tokens_to_add(pair=True)
        overlap = max(0, min(room - doc_stride, room - 1))
        windows = prepare_validation_features(tokenizer, [qa_example], max_seq_length, overlap)
        labels = prepare_train_features(tokenizer, [qa_example], max_seq_length, overlap) if is_training else windows
        for window, labelled in zip(windows, labels):
            features.append(_feature(tokenizer, window, labelled if is_training else None, example_index,
                                     FIRST_UNIQUE_ID + len(features), example.is_impossible))
    if return_dataset == "pt":
        return features, _torch_dataset(features, is_training)
    if return_dataset == "tf":
        return features, _tf_dataset(features, is_training)
    return features


def _with_short_question(tokenizer: Any, example: QAExample, max_query_length: int) -> QAExample:
    offsets = tokenizer(example.question, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    if len(offsets) <= max_query_length:
        return example
    return dataclasses.replace(example, question=example.question[:offsets[max_query_length - 1][1]])


def _feature(tokenizer: Any, window: dict[str, Any], labelled: dict[str, Any] | None, example_index: int,
             unique_id: int, is_impossible: bool) -> SquadFeatures:
    """``labelled`` is the same window with answer positions (training), or None."""
    input_ids = window["input_ids"]
    cls_index = input_ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in input_ids else 0
    p_mask = [0 if offset is not None or index == cls_index else 1
              for index, offset in enumerate(window["offset_mapping"])]
    start, end = (labelled["start_positions"], labelled["end_positions"]) if labelled else (0, 0)
    answer_outside = labelled is not None and start == cls_index and end == cls_index
    return SquadFeatures(input_ids, window["attention_mask"], window.get("token_type_ids"), cls_index, p_mask,
                         example_index, unique_id, window["example_id"], window["offset_mapping"], start, end,
                         is_impossible or answer_outside)


def _torch_dataset(features: list[SquadFeatures], is_training: bool) -> Any:
    import torch
    from torch.utils.data import TensorDataset

    def column(name: str, dtype: Any = torch.long) -> Any:
        return torch.tensor([getattr(f, name) for f in features], dtype=dtype)

    input_ids = column("input_ids")
    token_type_ids = (column("token_type_ids") if features and features[0].token_type_ids is not None
                      else torch.zeros_like(input_ids))
    common = (input_ids, column("attention_mask"), token_type_ids)
    if not is_training:
        return TensorDataset(*common, torch.arange(len(features), dtype=torch.long), column("cls_index"),
                             column("p_mask", torch.float))
    return TensorDataset(*common, column("start_position"), column("end_position"), column("cls_index"),
                         column("p_mask", torch.float), column("is_impossible", torch.float))


def _tf_dataset(features: list[SquadFeatures], is_training: bool) -> Any:
    import tensorflow as tf

    inputs = {"input_ids": [f.input_ids for f in features], "attention_mask": [f.attention_mask for f in features]}
    if features and features[0].token_type_ids is not None:
        inputs["token_type_ids"] = [f.token_type_ids for f in features]
    if is_training:
        labels = {"start_positions": [f.start_position for f in features],
                  "end_positions": [f.end_position for f in features], "cls_index": [f.cls_index for f in features],
                  "p_mask": [f.p_mask for f in features], "is_impossible": [int(f.is_impossible) for f in features]}
    else:
        inputs["feature_index"] = list(range(len(features)))
        inputs["qas_id"] = [f.qas_id for f in features]
        labels = {"cls_index": [f.cls_index for f in features], "p_mask": [f.p_mask for f in features]}
    return tf.data.Dataset.from_tensor_slices((inputs, labels))
