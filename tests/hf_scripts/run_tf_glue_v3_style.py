"""GLUE fine-tuning in TensorFlow in the shape of Hugging Face's v3 ``run_tf_glue.py``, written against
tuneformers: HfArgumentParser over TFTrainingArguments, ``n_replicas`` in the start-up log, AutoConfig with
finetuning_task, the model built under ``training_args.strategy.scope()``, glue_convert_examples_to_features on a
tf.data.Dataset of tensorflow_datasets-style records, TFTrainer with a compute_metrics closure, train, save_model,
evaluate, and eval_results.txt. HF loads the records with ``tfds.load("glue/sst2")``; here they come from the
local SST-2 TSVs under --data_dir, in the same record layout.
"""

import csv
import dataclasses
import logging
import os
from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from tuneformers import (AutoConfig, AutoTokenizer, EvalPrediction, HfArgumentParser, PreTrainedTokenizer,
                         TFAutoModelForSequenceClassification, TFTrainer, TFTrainingArguments, glue_compute_metrics,
                         glue_convert_examples_to_features, glue_output_modes, glue_processors, glue_tasks_num_labels)

logger = logging.getLogger(__name__)


def local_glue_records(data_dir: str, split: str) -> tf.data.Dataset:
    """What ``tfds.load("glue/sst2", split=split)`` yields: {"idx", "sentence", "label"} records."""
    with open(os.path.join(data_dir, "train.tsv" if split == "train" else "dev.tsv"), encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return tf.data.Dataset.from_tensor_slices({"idx": np.arange(len(rows), dtype=np.int32),
                                               "sentence": [row[0] for row in rows],
                                               "label": np.array([int(row[1]) for row in rows], dtype=np.int64)})


def get_tfds(task_name: str, data_dir: str, tokenizer: PreTrainedTokenizer, max_seq_length: Optional[int] = None,
             mode: str = "train") -> tf.data.Dataset:
    return glue_convert_examples_to_features(local_glue_records(data_dir, mode), tokenizer, max_seq_length, task_name)


@dataclasses.dataclass
class GlueDataTrainingArguments:
    task_name: str = dataclasses.field(metadata={"help": "One of: " + ", ".join(glue_processors.keys())})
    data_dir: str = dataclasses.field(metadata={"help": "Folder with train.tsv and dev.tsv (replaces tfds)."})
    max_seq_length: int = dataclasses.field(default=128, metadata={"help": "Tokens per example."})
    overwrite_cache: bool = dataclasses.field(default=False, metadata={"help": "Unused: nothing is cached."})

    def __post_init__(self):
        self.task_name = self.task_name.lower()


@dataclasses.dataclass
class ModelArguments:
    model_name_or_path: str = dataclasses.field(metadata={"help": "Pretrained model folder or hub id."})
    config_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Config, if not the model's."})
    tokenizer_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Tokenizer, if not the model's."})
    use_fast: bool = dataclasses.field(default=False, metadata={"help": "Fast tokenization."})
    cache_dir: Optional[str] = dataclasses.field(default=None, metadata={"help": "Where downloads are cached."})


def main():
    parser = HfArgumentParser((ModelArguments, GlueDataTrainingArguments, TFTrainingArguments))
    model_args, data_args, training_args = parser.parse_args_into_dataclasses()
    if (os.path.exists(training_args.output_dir) and os.listdir(training_args.output_dir) and training_args.do_train
            and not training_args.overwrite_output_dir):
        raise ValueError(f"Output directory ({training_args.output_dir}) already exists and is not empty.")
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s -   %(message)s", datefmt="%m/%d/%Y %H:%M:%S",
                        level=logging.INFO)
    logger.info("n_replicas: %s, distributed training: %s, 16-bits training: %s", training_args.n_replicas,
                bool(training_args.n_replicas > 1), training_args.fp16)

    num_labels = glue_tasks_num_labels[data_args.task_name]
    output_mode = glue_output_modes[data_args.task_name]
    config = AutoConfig.from_pretrained(model_args.config_name or model_args.model_name_or_path, num_labels=num_labels,
                                        finetuning_task=data_args.task_name, cache_dir=model_args.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name or model_args.model_name_or_path,
                                              cache_dir=model_args.cache_dir)
    with training_args.strategy.scope():
        model = TFAutoModelForSequenceClassification.from_pretrained(
            model_args.model_name_or_path, from_pt=bool(".bin" in model_args.model_name_or_path), config=config,
            cache_dir=model_args.cache_dir)

    train_dataset = get_tfds(data_args.task_name, data_args.data_dir, tokenizer, data_args.max_seq_length) \
        if training_args.do_train else None
    eval_dataset = get_tfds(data_args.task_name, data_args.data_dir, tokenizer, data_args.max_seq_length, "validation") \
        if training_args.do_eval else None

    def compute_metrics(p: EvalPrediction) -> Dict:
        preds = np.argmax(p.predictions, axis=1) if output_mode == "classification" else np.squeeze(p.predictions)
        return glue_compute_metrics(data_args.task_name, preds, p.label_ids)

    trainer = TFTrainer(model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                        compute_metrics=compute_metrics)
    if training_args.do_train:
        trainer.train()
        trainer.save_model()
        tokenizer.save_pretrained(training_args.output_dir)

    results = {}
    if training_args.do_eval:
        result = trainer.evaluate()
        with open(os.path.join(training_args.output_dir, "eval_results.txt"), "w") as writer:
            for key, value in result.items():
                writer.write(f"{key} = {value}\n")
        results.update(result)
    return results


if __name__ == "__main__":
    main()
