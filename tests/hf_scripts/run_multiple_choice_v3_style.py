"""Multiple choice in the shape of Hugging Face's v3 ``run_multiple_choice.py`` + ``utils_multiple_choice.py``,
written against tuneformers: SWAG CSV rows read by column position, each (context, question + ending) pair
tokenized with ``tokenizer(a, b, padding="max_length", truncation=True, return_overflowing_tokens=True)`` and its
``num_truncated_tokens`` checked, AutoConfig with finetuning_task, AutoModelForMultipleChoice, Trainer with an
accuracy closure, train(model_path=...), evaluate, and eval_results.txt.
"""

import csv
import dataclasses
import logging
import os
from typing import Dict, List, Optional

import numpy as np

from tuneformers import (AutoConfig, AutoModelForMultipleChoice, AutoTokenizer, EvalPrediction, HfArgumentParser,
                         PreTrainedTokenizer, Trainer, TrainingArguments, set_seed)

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class ModelArguments:
    model_name_or_path: str = dataclasses.field(metadata={"help": "Pretrained model folder or hub id."})
    config_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Config, if not the model's."})
    tokenizer_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Tokenizer, if not the model's."})
    cache_dir: Optional[str] = dataclasses.field(default=None, metadata={"help": "Where downloads are cached."})


@dataclasses.dataclass
class DataTrainingArguments:
    task_name: str = dataclasses.field(metadata={"help": "Only 'swag' here."})
    data_dir: str = dataclasses.field(metadata={"help": "Folder with train.csv and val.csv."})
    max_seq_length: int = dataclasses.field(default=128, metadata={"help": "Tokens per choice, padded."})
    overwrite_cache: bool = dataclasses.field(default=False, metadata={"help": "Unused: nothing is cached."})


@dataclasses.dataclass(frozen=True)
class InputExample:
    example_id: str
    question: str
    contexts: List[str]
    endings: List[str]
    label: Optional[str]


@dataclasses.dataclass(frozen=True)
class InputFeatures:
    example_id: str
    input_ids: List[List[int]]
    attention_mask: Optional[List[List[int]]]
    token_type_ids: Optional[List[List[int]]]
    label: Optional[int]


class SwagProcessor:
    def get_train_examples(self, data_dir: str) -> List[InputExample]:
        return self._create_examples(os.path.join(data_dir, "train.csv"))

    def get_dev_examples(self, data_dir: str) -> List[InputExample]:
        return self._create_examples(os.path.join(data_dir, "val.csv"))

    def get_labels(self) -> List[str]:
        return ["0", "1", "2", "3"]

    @staticmethod
    def _create_examples(path: str) -> List[InputExample]:
        with open(path, encoding="utf-8") as handle:
            lines = list(csv.reader(handle))
        if lines[0][-1] != "label":
            raise ValueError(f"{path}: the last column must be 'label'.")
        return [InputExample(example_id=line[2], question=line[5], contexts=[line[4]] * 4, endings=line[7:11],
                             label=line[11]) for line in lines[1:]]


def convert_examples_to_features(examples: List[InputExample], label_list: List[str], max_length: int,
                                 tokenizer: PreTrainedTokenizer) -> List[InputFeatures]:
    label_map = {label: i for i, label in enumerate(label_list)}
    features = []
    for example in examples:
        choices_inputs = []
        for context, ending in zip(example.contexts, example.endings):
            text_b = example.question.replace("_", ending) if "_" in example.question else example.question + " " + ending
            inputs = tokenizer(context, text_b, add_special_tokens=True, max_length=max_length, padding="max_length",
                               truncation=True, return_overflowing_tokens=True)
            if "num_truncated_tokens" in inputs and inputs["num_truncated_tokens"] > 0:
                logger.info("Cropped %d tokens of example %s.", inputs["num_truncated_tokens"], example.example_id)
            choices_inputs.append(inputs)
        features.append(InputFeatures(
            example_id=example.example_id, input_ids=[x["input_ids"] for x in choices_inputs],
            attention_mask=[x["attention_mask"] for x in choices_inputs] if "attention_mask" in choices_inputs[0] else None,
            token_type_ids=[x["token_type_ids"] for x in choices_inputs] if "token_type_ids" in choices_inputs[0] else None,
            label=label_map[example.label]))
    return features


def main():
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TrainingArguments))
    model_args, data_args, training_args = parser.parse_args_into_dataclasses()
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s -   %(message)s", datefmt="%m/%d/%Y %H:%M:%S",
                        level=logging.INFO if training_args.local_rank in [-1, 0] else logging.WARN)
    set_seed(training_args.seed)
    if data_args.task_name != "swag":
        raise ValueError(f"Task not found: {data_args.task_name}")
    processor = SwagProcessor()
    label_list = processor.get_labels()

    config = AutoConfig.from_pretrained(model_args.config_name or model_args.model_name_or_path,
                                        num_labels=len(label_list), finetuning_task=data_args.task_name,
                                        cache_dir=model_args.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name or model_args.model_name_or_path,
                                              cache_dir=model_args.cache_dir)
    model = AutoModelForMultipleChoice.from_pretrained(
        model_args.model_name_or_path, from_tf=bool(".ckpt" in model_args.model_name_or_path), config=config,
        cache_dir=model_args.cache_dir)

    train_dataset = convert_examples_to_features(processor.get_train_examples(data_args.data_dir), label_list,
                                                 data_args.max_seq_length, tokenizer) if training_args.do_train else None
    eval_dataset = convert_examples_to_features(processor.get_dev_examples(data_args.data_dir), label_list,
                                                data_args.max_seq_length, tokenizer) if training_args.do_eval else None

    def compute_metrics(p: EvalPrediction) -> Dict:
        return {"acc": float((np.argmax(p.predictions, axis=1) == p.label_ids).mean())}

    trainer = Trainer(model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                      compute_metrics=compute_metrics)
    if training_args.do_train:
        trainer.train(model_path=model_args.model_name_or_path if os.path.isdir(model_args.model_name_or_path) else None)
        trainer.save_model()
        if trainer.is_world_master():
            tokenizer.save_pretrained(training_args.output_dir)

    results = {}
    if training_args.do_eval:
        result = trainer.evaluate()
        if trainer.is_world_master():
            with open(os.path.join(training_args.output_dir, "eval_results.txt"), "w") as writer:
                for key, value in result.items():
                    writer.write(f"{key} = {value}\n")
                results.update(result)
    return results


if __name__ == "__main__":
    main()
