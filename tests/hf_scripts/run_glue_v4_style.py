"""Sequence classification from CSV files in the shape of Hugging Face's v4.3 ``run_glue.py``, written against
tuneformers: HfArgumentParser, get_last_checkpoint / is_main_process, the ``transformers.utils.logging``
switches, from_pretrained with cache_dir / revision / use_auth_token, label_list from the files, the tokenizer
called with padding / max_length / truncation, DataCollatorWithPadding by default (default_data_collator with
--pad_to_max_length), Trainer(tokenizer=...), train(resume_from_checkpoint=<the model folder>),
train_result.metrics, trainer.state.save_to_json, evaluate, predict, and the train / eval / test result files.
HF reads the CSVs with ``datasets.load_dataset("csv")``; here the csv module does, into the same columns.
"""

import csv
import dataclasses
import logging
import os
import random
import sys
from typing import Dict, List, Optional

import numpy as np

import tuneformers as transformers
from tuneformers import (AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                         EvalPrediction, HfArgumentParser, PretrainedConfig, Trainer, TrainingArguments,
                         default_data_collator, set_seed)
from tuneformers.trainer_utils import get_last_checkpoint, is_main_process

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class DataTrainingArguments:
    max_seq_length: int = dataclasses.field(default=128, metadata={"help": "Tokens per example."})
    overwrite_cache: bool = dataclasses.field(default=False, metadata={"help": "Unused: nothing is cached."})
    pad_to_max_length: bool = dataclasses.field(default=True, metadata={"help": "Pad to max_seq_length."})
    train_file: Optional[str] = dataclasses.field(default=None, metadata={"help": "Training CSV."})
    validation_file: Optional[str] = dataclasses.field(default=None, metadata={"help": "Validation CSV."})
    test_file: Optional[str] = dataclasses.field(default=None, metadata={"help": "Test CSV."})

    def __post_init__(self):
        if self.train_file is None or self.validation_file is None:
            raise ValueError("Need a training and a validation file.")


@dataclasses.dataclass
class ModelArguments:
    model_name_or_path: str = dataclasses.field(metadata={"help": "Pretrained model folder or hub id."})
    config_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Config, if not the model's."})
    tokenizer_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Tokenizer, if not the model's."})
    cache_dir: Optional[str] = dataclasses.field(default=None, metadata={"help": "Where downloads are cached."})
    use_fast_tokenizer: bool = dataclasses.field(default=True, metadata={"help": "Use a fast tokenizer."})
    model_revision: str = dataclasses.field(default="main", metadata={"help": "Hub branch, tag or commit."})
    use_auth_token: bool = dataclasses.field(default=False, metadata={"help": "Send the hub login token."})


def load_csv(path: str) -> Dict[str, List]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {column: [row[column] for row in rows] for column in rows[0]}


def main():
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TrainingArguments))
    if len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        model_args, data_args, training_args = parser.parse_json_file(json_file=os.path.abspath(sys.argv[1]))
    else:
        model_args, data_args, training_args = parser.parse_args_into_dataclasses()

    last_checkpoint = None
    if os.path.isdir(training_args.output_dir) and training_args.do_train and not training_args.overwrite_output_dir:
        last_checkpoint = get_last_checkpoint(training_args.output_dir)
        if last_checkpoint is None and len(os.listdir(training_args.output_dir)) > 0:
            raise ValueError(f"Output directory ({training_args.output_dir}) already exists and is not empty.")
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s -   %(message)s", datefmt="%m/%d/%Y %H:%M:%S",
                        handlers=[logging.StreamHandler(sys.stdout)])
    logger.setLevel(logging.INFO if is_main_process(training_args.local_rank) else logging.WARN)
    logger.warning(f"Process rank: {training_args.local_rank}, device: {training_args.device}, "
                   f"n_gpu: {training_args.n_gpu} distributed training: {bool(training_args.local_rank != -1)}, "
                   f"16-bits training: {training_args.fp16}")
    if is_main_process(training_args.local_rank):
        transformers.utils.logging.set_verbosity_info()
        transformers.utils.logging.enable_default_handler()
        transformers.utils.logging.enable_explicit_format()
    set_seed(training_args.seed)

    datasets = {"train": load_csv(data_args.train_file), "validation": load_csv(data_args.validation_file)}
    if training_args.do_predict and data_args.test_file:
        datasets["test"] = load_csv(data_args.test_file)
    label_list = sorted(set(datasets["train"]["label"]))
    num_labels = len(label_list)

    hub = dict(cache_dir=model_args.cache_dir, revision=model_args.model_revision,
               use_auth_token=True if model_args.use_auth_token else None)
    config = AutoConfig.from_pretrained(model_args.config_name or model_args.model_name_or_path, num_labels=num_labels,
                                        finetuning_task=None, **hub)
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name or model_args.model_name_or_path,
                                              use_fast=model_args.use_fast_tokenizer, **hub)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_args.model_name_or_path, from_tf=bool(".ckpt" in model_args.model_name_or_path), config=config, **hub)

    non_label_columns = [name for name in datasets["train"] if name != "label"]
    sentence1_key, sentence2_key = (non_label_columns + [None])[:2]
    padding = "max_length" if data_args.pad_to_max_length else False
    if model.config.label2id != PretrainedConfig(num_labels=num_labels).label2id:
        logger.warning("The model's label2id is not the default one; using the file's labels in sorted order.")
    label_to_id = {v: i for i, v in enumerate(label_list)}
    max_seq_length = min(data_args.max_seq_length, tokenizer.model_max_length)

    def preprocess(columns: Dict[str, List]) -> List[Dict]:
        args = (columns[sentence1_key],) if sentence2_key is None else (columns[sentence1_key], columns[sentence2_key])
        result = tokenizer(*args, padding=padding, max_length=max_seq_length, truncation=True)
        rows = [{key: result[key][i] for key in result} for i in range(len(result["input_ids"]))]
        if "label" in columns:
            for row, label in zip(rows, columns["label"]):
                row["label"] = label_to_id[label]
        return rows

    train_dataset = preprocess(datasets["train"])
    eval_dataset = preprocess(datasets["validation"])
    test_dataset = preprocess(datasets["test"]) if "test" in datasets else None
    for index in random.sample(range(len(train_dataset)), 2):
        logger.info(f"Sample {index} of the training set: {train_dataset[index]}.")

    def compute_metrics(p: EvalPrediction):
        preds = np.argmax(p.predictions, axis=1)
        return {"accuracy": (preds == p.label_ids).astype(np.float32).mean().item()}

    data_collator = default_data_collator if data_args.pad_to_max_length else (
        DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8) if training_args.fp16 else None)
    trainer = Trainer(model=model, args=training_args, train_dataset=train_dataset,
                      eval_dataset=eval_dataset if training_args.do_eval else None, compute_metrics=compute_metrics,
                      tokenizer=tokenizer, data_collator=data_collator)

    if training_args.do_train:
        if last_checkpoint is not None:
            checkpoint = last_checkpoint
        elif os.path.isdir(model_args.model_name_or_path):
            checkpoint = model_args.model_name_or_path
        else:
            checkpoint = None
        train_result = trainer.train(resume_from_checkpoint=checkpoint)
        metrics = train_result.metrics
        trainer.save_model()
        if trainer.is_world_process_zero():
            with open(os.path.join(training_args.output_dir, "train_results.txt"), "w") as writer:
                for key, value in sorted(metrics.items()):
                    writer.write(f"{key} = {value}\n")
            trainer.state.save_to_json(os.path.join(training_args.output_dir, "trainer_state.json"))

    eval_results = {}
    if training_args.do_eval:
        eval_result = trainer.evaluate(eval_dataset=eval_dataset)
        if trainer.is_world_process_zero():
            with open(os.path.join(training_args.output_dir, "eval_results_csv.txt"), "w") as writer:
                for key, value in sorted(eval_result.items()):
                    writer.write(f"{key} = {value}\n")
        eval_results.update(eval_result)

    if training_args.do_predict and test_dataset is not None:
        for row in test_dataset:
            row.pop("label", None)
        predictions = np.argmax(trainer.predict(test_dataset=test_dataset).predictions, axis=1)
        if trainer.is_world_process_zero():
            with open(os.path.join(training_args.output_dir, "test_results_csv.txt"), "w") as writer:
                writer.write("index\tprediction\n")
                for index, item in enumerate(predictions):
                    writer.write(f"{index}\t{label_list[item]}\n")
    return eval_results


if __name__ == "__main__":
    main()
