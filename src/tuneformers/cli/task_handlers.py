"""What each task of ``tuneformers train / evaluate / predict --task`` needs: how to read its files, turn
examples into features, build the model, score predictions (with simple baselines) and write them.

One class per task: token classification, question answering, multiple choice. No torch at import.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import CLIError


class _Task:
    name = ""
    auto_class = ""

    def __init__(self, args: argparse.Namespace):
        self.args = args

    def read(self, path: str, flag: str) -> list:
        from ..data.readers import DataFormatError

        if not Path(path).is_file():
            raise CLIError(f"{flag} {path}: no such file. Check the path (relative paths start at {Path.cwd()}).")
        try:
            return self._read(path)
        except DataFormatError as error:
            raise CLIError(str(error)) from None

    def model(self, name: str, **kwargs: Any):
        from ..models.auto import modeling_auto

        try:
            return getattr(modeling_auto, self.auto_class).from_pretrained(name, **self.model_kwargs(), **kwargs)
        except (OSError, ValueError) as error:
            raise CLIError(f"Could not load the model {name}: {error}") from error

    def model_kwargs(self) -> dict[str, Any]:
        return {}

    def from_model(self, model: Any) -> None:
        """Take what the task needs (the label list) from a trained model."""

    def compute_metrics(self, prediction: Any) -> dict[str, float]:
        return {}

    def baselines(self, train: list, validation: list) -> dict[str, float]:
        return {}


class TokenClassificationTask(_Task):
    name, auto_class = "token-classification", "AutoModelForTokenClassification"
    label_list: list[str] = []

    def _read(self, path: str) -> list:
        from ..data.token_classification import read_conll, read_token_examples

        if Path(path).suffix.lower() in (".jsonl", ".ndjson", ".json"):
            return read_token_examples(path)
        with open(path, encoding="utf-8-sig") as handle:
            first = next((line for line in handle if line.strip() and not line.startswith("-DOCSTART-")), "")
        return read_conll(path, tag_column=self.args.tag_column if len(first.split()) > 1 else None)

    def set_labels(self, train: list) -> None:
        from ..data.token_classification import label_list_from

        self.label_list = label_list_from(train)
        if not self.label_list:
            raise CLIError("The training file has no tags: give 'token tag' lines (CoNLL) or a tags list (JSONL).")

    def model_kwargs(self) -> dict[str, Any]:
        return {"num_labels": len(self.label_list), "id2label": dict(enumerate(self.label_list)),
                "label2id": {label: i for i, label in enumerate(self.label_list)}} if self.label_list else {}

    def from_model(self, model: Any) -> None:
        self.label_list = [model.config.id2label[i] for i in range(model.config.num_labels)]

    def features(self, tokenizer: Any, examples: list, train: bool) -> list[dict]:
        from ..data.readers import DataFormatError
        from ..data.token_classification import tokenize_and_align_labels

        labelled = all(example.tags is not None for example in examples)
        try:
            return tokenize_and_align_labels(tokenizer, examples, self.label_list if labelled else None,
                                             max_length=self.args.max_length,
                                             label_all_tokens=getattr(self.args, "label_all_tokens", False))
        except DataFormatError as error:
            raise CLIError(str(error)) from None

    def collator(self, tokenizer: Any):
        from ..data.data_collator import DataCollatorForTokenClassification

        return DataCollatorForTokenClassification(tokenizer)

    def compute_metrics(self, prediction: Any) -> dict[str, float]:
        from ..data.token_classification import token_classification_metrics

        return token_classification_metrics(prediction.predictions, prediction.label_ids, self.label_list)

    def word_tags(self, tokenizer: Any, examples: list, logits: Any) -> list[list[str]]:
        """Per example, the tag of each word (its first word piece's); words cut off by truncation get 'O'."""
        from ..data.token_classification import word_level_predictions

        encoding = tokenizer([list(e.tokens) for e in examples], is_split_into_words=True, truncation=True,
                             max_length=self.args.max_length)
        outside = "O" if "O" in self.label_list else self.label_list[0]
        tags = []
        for index, example in enumerate(examples):
            words = word_level_predictions(encoding.word_ids(index), logits[index].argmax(-1).tolist())
            tags.append([self.label_list[i] for i in words] + [outside] * (len(example.tokens) - len(words)))
        return tags

    def evaluate(self, trainer: Any, tokenizer: Any, examples: list) -> tuple[dict[str, float], list]:
        from ..data.token_classification import entity_metrics

        logits = trainer.predict(features_dataset(self.features(tokenizer, examples, train=False))).predictions
        tags = self.word_tags(tokenizer, examples, logits)
        if any(example.tags is None for example in examples):
            return {}, tags
        return entity_metrics([e.tags for e in examples], tags, per_type=True), tags

    def baselines(self, train: list, validation: list) -> dict[str, float]:
        """Two reference points: every word gets the most frequent tag; every word gets its most frequent
        training tag (unseen words the most frequent tag)."""
        import collections

        from ..data.token_classification import entity_metrics

        counts = collections.Counter(tag for e in train for tag in e.tags)
        majority = counts.most_common(1)[0][0]
        per_word: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for example in train:
            for word, tag in zip(example.tokens, example.tags):
                per_word[word][tag] += 1
        gold = [e.tags for e in validation]
        constant = entity_metrics(gold, [[majority] * len(e.tokens) for e in validation])
        lexical = entity_metrics(gold, [[per_word[w].most_common(1)[0][0] if w in per_word else majority
                                         for w in e.tokens] for e in validation])
        return {"baseline_majority_tag_accuracy": constant["accuracy"], "baseline_majority_tag_f1": constant["f1"],
                "baseline_word_tag_accuracy": lexical["accuracy"], "baseline_word_tag_f1": lexical["f1"]}

    def write(self, handle: Any, examples: list, predictions: list) -> None:
        from ..data.token_classification import entities_with_offsets

        for example, tags in zip(examples, predictions):
            record = {"tokens": list(example.tokens), "predicted_tags": tags, "text": " ".join(example.tokens),
                      "entities": entities_with_offsets(example.tokens, tags)}
            if example.tags is not None:
                record["tags"] = list(example.tags)
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


class QuestionAnsweringTask(_Task):
    name, auto_class = "question-answering", "AutoModelForQuestionAnswering"

    def _read(self, path: str) -> list:
        from ..data.question_answering import read_qa_examples

        return read_qa_examples(path)

    def features(self, tokenizer: Any, examples: list, train: bool) -> list[dict]:
        from ..data.question_answering import prepare_train_features, prepare_validation_features

        stride = self.args.doc_stride if self.args.doc_stride is not None else min(self.args.max_length // 4, 128)
        if stride >= self.args.max_length:
            raise CLIError(f"--doc_stride {stride} must be smaller than --max_length {self.args.max_length}.")
        prepare = prepare_train_features if train else prepare_validation_features
        try:
            return prepare(tokenizer, examples, self.args.max_length, stride)
        except ValueError as error:
            raise CLIError(f"Cannot cut the questions into windows: {error}") from None

    def collator(self, tokenizer: Any):
        from ..data.data_collator import default_data_collator

        return default_data_collator

    def evaluate(self, trainer: Any, tokenizer: Any, examples: list) -> tuple[dict[str, float], Any]:
        from ..data.question_answering import postprocess_qa_predictions, squad_metrics

        features = self.features(tokenizer, examples, train=False)
        inputs = [{k: f[k] for k in ("input_ids", "token_type_ids", "attention_mask")} for f in features]
        start_logits, end_logits = trainer.predict(features_dataset(inputs)).predictions
        answered = [bool(example.answers) for example in examples]
        with_negative = self.args.version_2_with_negative or (any(answered) and not all(answered))  # SQuAD v2 data
        answers, nbest = postprocess_qa_predictions(
            examples, features, (start_logits, end_logits), with_negative, self.args.n_best_size,
            self.args.max_answer_length, self.args.null_score_diff_threshold)
        labelled = any(example.answers for example in examples)
        return (squad_metrics(answers, examples) if labelled else {}), (answers, nbest)

    def write(self, handle: Any, examples: list, predictions: Any) -> None:
        answers, nbest = predictions
        for example in examples:
            best = next((entry for entry in nbest[example.id] if entry["text"] == answers[example.id]), None)
            record = {"id": example.id, "question": example.question, "answer": answers[example.id],
                      "score": best["probability"] if best else None,
                      "start": best["start"] if best and answers[example.id] else None,
                      "end": best["end"] if best and answers[example.id] else None,
                      "n_best": [{k: entry[k] for k in ("text", "probability", "start", "end")}
                                 for entry in nbest[example.id][:5]]}
            if example.answers:
                record["gold_answers"] = example.answer_texts
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


class MultipleChoiceTask(_Task):
    name, auto_class = "multiple-choice", "AutoModelForMultipleChoice"

    def _read(self, path: str) -> list:
        from ..data.multiple_choice import read_multiple_choice

        return read_multiple_choice(path, allow_varying_choices=self.args.pad_choices)

    def features(self, tokenizer: Any, examples: list, train: bool) -> list[dict]:
        from ..data.multiple_choice import prepare_multiple_choice_features

        return prepare_multiple_choice_features(tokenizer, examples, max_length=self.args.max_length)

    def collator(self, tokenizer: Any):
        from ..data.multiple_choice import DataCollatorForMultipleChoice

        return DataCollatorForMultipleChoice(tokenizer)

    def compute_metrics(self, prediction: Any) -> dict[str, float]:
        from ..data.multiple_choice import multiple_choice_accuracy

        return multiple_choice_accuracy(prediction.predictions, prediction.label_ids)

    def evaluate(self, trainer: Any, tokenizer: Any, examples: list) -> tuple[dict[str, float], Any]:
        from ..data.multiple_choice import choose

        features = self.features(tokenizer, examples, train=False)
        counts = [feature.pop("num_choices", None) for feature in features]
        for feature in features:
            feature.pop("labels", None)
        logits = trainer.predict(features_dataset(features)).predictions
        chosen = choose(logits, counts)
        metrics = {}
        if all(example.label is not None for example in examples):
            metrics["accuracy"] = float(sum(int(c) == e.label for c, e in zip(chosen, examples)) / len(examples))
        return metrics, (logits, chosen)

    def baselines(self, train: list, validation: list) -> dict[str, float]:
        import collections

        majority = collections.Counter(e.label for e in train).most_common(1)[0][0]
        return {"baseline_chance_accuracy": sum(1 / len(e.choices) for e in validation) / len(validation),
                "baseline_majority_label_accuracy": sum(e.label == majority for e in validation) / len(validation)}

    def write(self, handle: Any, examples: list, predictions: Any) -> None:
        from ..pipelines.base import softmax

        logits, chosen = predictions
        for example, row, choice in zip(examples, logits, chosen):
            probabilities = softmax(row[:len(example.choices)].astype(float))
            record = {"context": example.context, "question": example.question, "choices": list(example.choices),
                      "predicted_label": int(choice), "predicted_choice": example.choices[int(choice)],
                      "probabilities": [round(float(p), 6) for p in probabilities]}
            if example.label is not None:
                record["label"] = example.label
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


TASKS = {task.name: task for task in (TokenClassificationTask, QuestionAnsweringTask, MultipleChoiceTask)}


def features_dataset(features: list[dict]):
    from ..data.torch_dataset import FeaturesDataset

    return FeaturesDataset(features)


def without_keys(features: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """The features without the given keys (bookkeeping the model does not take)."""
    return [{k: v for k, v in feature.items() if k not in keys} for feature in features]
