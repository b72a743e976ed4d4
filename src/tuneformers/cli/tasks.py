"""``train`` / ``evaluate`` / ``predict`` for token classification, question answering and multiple choice.

``train --task`` picks the task (or ``auto`` reads it off the training file: CoNLL or JSONL with
``tokens`` -> token-classification; SQuAD JSON or JSONL with ``question`` and ``context`` ->
question-answering; SWAG CSV or JSONL with ``choices`` -> multiple-choice). ``evaluate`` and
``predict`` read the task off the model folder's architecture. Each task is one small class: how to
read its files, turn examples into features, build the model, score predictions and write them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from .common import CLIError, check_model_folder, format_table, load_tokenizer, write_json

TASK_NAMES = ("token-classification", "question-answering", "multiple-choice")
ARCHITECTURE_TASKS = {"ForTokenClassification": "token-classification",
                      "ForQuestionAnswering": "question-answering", "ForMultipleChoice": "multiple-choice"}


# ------------------------------------------------------------------------------------------ options


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Token classification, question answering, multiple choice")
    _add_task_options(group)
    group.add_argument("--label_all_tokens", action="store_true",
                       help="token-classification: label every word piece (B- becomes I- after the first), not only "
                            "the first")


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    _add_task_options(parser.add_argument_group("Token classification, question answering, multiple choice"))


def _add_task_options(group: Any) -> None:
    group.add_argument("--tag_column", type=int, default=-1,
                       help="token-classification: CoNLL column holding the tag (default: -1, the last)")
    group.add_argument("--doc_stride", type=int, default=None,
                       help="question-answering: tokens shared by consecutive windows of a long context "
                            "(default: a quarter of --max_length, at most 128)")
    group.add_argument("--max_answer_length", type=int, default=30,
                       help="question-answering: longest answer in tokens (default: 30)")
    group.add_argument("--n_best_size", type=int, default=20,
                       help="question-answering: start and end candidates kept per window (default: 20)")
    group.add_argument("--version_2_with_negative", action="store_true",
                       help="question-answering: some questions have no answer (SQuAD v2.0); predict the empty answer "
                            "when its score beats the best span by --null_score_diff_threshold (on by itself when "
                            "the evaluated file mixes answered and unanswerable questions)")
    group.add_argument("--null_score_diff_threshold", type=float, default=0.0,
                       help="question-answering with --version_2_with_negative (default: 0.0)")
    group.add_argument("--pad_choices", action="store_true",
                       help="multiple-choice: allow examples with fewer choices (padded with empty ones, never chosen)")


def detect_task(path: str | Path) -> str | None:
    """The task a training file is for, or None for a plain classification / regression file."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bz2")]
    kind = suffixes[-1] if suffixes else ""
    if kind in (".conll", ".conllu", ".iob", ".iob2", ".bio", ".bilou"):
        return "token-classification"
    if kind == ".json":
        return "question-answering"
    if kind not in (".jsonl", ".ndjson", ".csv", ".tsv") or not path.is_file():
        return None
    from ..data.errors import open_text

    with open_text(path) as handle:
        first = next((line for line in handle if line.strip()), "")
    if kind in (".csv", ".tsv"):
        columns = set(first.strip().split("," if kind == ".csv" else "\t"))
        return "multiple-choice" if {"ending0", "ending1"} <= columns or {"choice0", "choice1"} <= columns else None
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    if "tokens" in record:
        return "token-classification"
    if {"question", "context"} <= set(record):
        return "question-answering"
    return "multiple-choice" if "choices" in record else None


def task_of_model(model_dir: str) -> str | None:
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    for architecture in config.get("architectures") or []:
        for suffix, task in ARCHITECTURE_TASKS.items():
            if architecture.endswith(suffix):
                return task
    return None


# ------------------------------------------------------------------------------------------ the tasks


class _Task:
    name = ""
    auto_class = ""

    def __init__(self, args: argparse.Namespace):
        self.args = args

    def read(self, path: str, flag: str) -> list:
        from ..data.errors import DataFormatError

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
        from ..data.errors import DataFormatError
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

        logits = trainer.predict(_dataset(self.features(tokenizer, examples, train=False))).predictions
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
        start_logits, end_logits = trainer.predict(_dataset(inputs)).predictions
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
        logits = trainer.predict(_dataset(features)).predictions
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


def _dataset(features: list[dict]):
    from ..data.torch_dataset import FeaturesDataset

    return FeaturesDataset(features)


def _without(features: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """The features without the given keys (bookkeeping the model does not take)."""
    return [{k: v for k, v in feature.items() if k not in keys} for feature in features]


# ------------------------------------------------------------------------------------------ commands


def resolve_train_task(args: argparse.Namespace) -> str | None:
    """The task of a train command when it is one of ours, else None (classification / regression)."""
    if args.task in TASK_NAMES:
        return args.task
    if args.task == "auto" and args.train_file:
        return detect_task(args.train_file)
    return None


def run_train(args: argparse.Namespace, task_name: str) -> int:
    from ..data.datasets import train_validation_split
    from ..trainer.trainer import Trainer
    from ..trainer.utils import set_seed
    from ..constants import METRICS_NAME, PLOT_NAME, TRAINER_STATE_NAME
    from .train import _default_model, training_arguments

    started = time.perf_counter()
    if not args.train_file:
        raise CLIError(f"--task {task_name} needs --train_file (there is no packaged dataset for it).")
    task = TASKS[task_name](args)
    training_args = training_arguments(args)
    train = task.read(args.train_file, "--train_file")
    if args.validation_file:
        validation = task.read(args.validation_file, "--validation_file")
    elif args.validation_fraction > 0:
        try:
            train, validation = train_validation_split(train, args.validation_fraction, seed=args.seed)
        except ValueError as error:
            raise CLIError(f"--validation_fraction: {error}") from None
    else:
        validation = []
    train, validation = train[:args.max_train_samples], validation[:args.max_eval_samples]
    if not validation:
        training_args.eval_strategy = "no"
    if isinstance(task, TokenClassificationTask):
        task.set_labels(train + validation)
    model_name = check_model_folder(args.model_name_or_path or _default_model(), "--model_name_or_path")
    print(f"tuneformers train: {model_name} for {task_name} on {Path(args.train_file).name}: {len(train)} training / "
          f"{len(validation)} held-out examples", flush=True)
    tokenizer = load_tokenizer(model_name)
    train_set = _dataset(_without(task.features(tokenizer, train, train=True), ("num_choices",)))
    eval_set = _dataset(_without(task.features(tokenizer, validation, train=True), ("num_choices",))) \
        if validation else None
    set_seed(training_args.seed)
    model = task.model(model_name, ignore_mismatched_sizes=args.ignore_mismatched_sizes)
    trainer = Trainer(model=model, args=training_args, train_dataset=train_set, eval_dataset=eval_set,
                      tokenizer=tokenizer, data_collator=task.collator(tokenizer),
                      compute_metrics=task.compute_metrics if task_name != "question-answering" else None)
    try:
        result = trainer.train()
    except (FileExistsError, FileNotFoundError) as error:
        raise CLIError(str(error)) from None
    metrics: dict[str, Any] = {**result.metrics, "task": task_name, "num_train_examples": len(train),
                               "num_eval_examples": len(validation)}
    if validation:
        scores, _ = task.evaluate(trainer, tokenizer, validation)
        metrics.update({f"eval_{key}": value for key, value in scores.items()})
        metrics.update({f"eval_{key}": value for key, value in task.baselines(train, validation).items()})
    output_dir = Path(training_args.output_dir)
    trainer.save_model(str(output_dir))
    trainer.state.save_to_json(output_dir / TRAINER_STATE_NAME)
    write_json(output_dir / METRICS_NAME, metrics)
    if not args.no_plot:
        from .plot import plot_training

        plot_training(trainer.state.log_history, output_dir / PLOT_NAME, title=f"{task_name}: {Path(args.train_file).name}")
    rows = [("model", model_name), ("task", task_name), ("data", f"{len(train)} train / {len(validation)} held out"),
            ("steps", result.global_step), ("train loss", result.training_loss)]
    rows += [(key.replace("eval_", "held-out ").replace("_", " "), value) for key, value in metrics.items()
             if key.startswith("eval_") and isinstance(value, float) and not key.endswith(("_number", "_total"))]
    rows += [("wall time", f"{time.perf_counter() - started:.0f} s"), ("model folder", str(output_dir))]
    print(format_table(rows, title="tuneformers train: summary"))
    return 0


def inference_task(args: argparse.Namespace) -> str | None:
    """The task of an evaluate / predict command on ``args.model_dir`` when it is one of ours."""
    folder = Path(args.model_dir)
    return task_of_model(str(folder)) if folder.is_dir() else None


def _inference_setup(args: argparse.Namespace, task_name: str, flag: str) -> tuple[Any, Any, Any, list]:
    from ..trainer.trainer import Trainer
    from ..trainer.training_args import TrainingArguments

    if args.batch_size < 1 or args.max_length < 1:
        raise CLIError("--batch_size and --max_length must be positive numbers.")
    folder = check_model_folder(args.model_dir, "model_dir")
    task = TASKS[task_name](args)
    examples = task.read(args.file, flag)
    tokenizer = load_tokenizer(folder)
    model = task.model(folder)
    task.from_model(model)
    import tempfile

    scratch = tempfile.mkdtemp(prefix="tuneformers-")
    trainer = Trainer(model=model, tokenizer=tokenizer, data_collator=task.collator(tokenizer),
                      args=TrainingArguments(output_dir=scratch, per_device_eval_batch_size=args.batch_size,
                                             use_cpu=args.use_cpu, report_to=[], disable_tqdm=args.disable_tqdm))
    return task, trainer, tokenizer, examples


def run_evaluate(args: argparse.Namespace, task_name: str) -> int:
    start = time.perf_counter()
    task, trainer, tokenizer, examples = _inference_setup(args, task_name, "file")
    scores, _ = task.evaluate(trainer, tokenizer, examples)
    if not scores:
        raise CLIError(f"file {args.file} has no labels to score against; use `tuneformers predict` for unlabelled data.")
    metrics = {f"eval_{key}": value for key, value in scores.items()}
    metrics.update(eval_samples=len(examples), eval_runtime=time.perf_counter() - start)
    if args.output:
        write_json(Path(args.output), metrics)
    rows = [(key.removeprefix("eval_").replace("_", " "), value) for key, value in metrics.items()]
    print(format_table(rows, title=f"tuneformers evaluate ({task_name}): {args.model_dir} on {args.file}"))
    return 0


def run_predict(args: argparse.Namespace, task_name: str) -> int:
    from ..utils import atomic_path

    output = Path(args.output or "predictions.jsonl")
    if output.suffix.lower() not in (".jsonl", ".ndjson"):
        raise CLIError(f"--output {output}: {task_name} predictions are written as JSONL; name it .jsonl.")
    task, trainer, tokenizer, examples = _inference_setup(args, task_name, "file")
    _, predictions = task.evaluate(trainer, tokenizer, examples)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as temp, open(temp, "w", encoding="utf-8") as handle:
        task.write(handle, examples, predictions)
    print(f"tuneformers predict ({task_name}): wrote {len(examples)} predictions to {output}")
    return 0
