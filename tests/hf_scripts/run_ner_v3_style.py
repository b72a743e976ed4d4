"""Token classification in the shape of Hugging Face's v3 ``run_ner.py`` + ``utils_ner.py``, written against
tuneformers: CoNLL ``word tag`` files read by the script, each word cut into pieces with tokenizer.tokenize (the
first piece carries the label, the others -100), [CLS] / [SEP] and padding from the tokenizer's attributes,
AutoConfig with id2label / label2id, AutoModelForTokenClassification, Trainer with a compute_metrics closure,
train(model_path=...), evaluate, predict, and eval_results.txt / test_results.txt / test_predictions.txt. Entity
scores come from tuneformers' seqeval-equal entity_metrics.
"""

import dataclasses
import logging
import os
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np

from tuneformers import (AutoConfig, AutoModelForTokenClassification, AutoTokenizer, EvalPrediction, HfArgumentParser,
                         PreTrainedTokenizer, Trainer, TrainingArguments, entity_metrics, set_seed)

logger = logging.getLogger(__name__)
IGNORE_INDEX = -100


@dataclasses.dataclass
class ModelArguments:
    model_name_or_path: str = dataclasses.field(metadata={"help": "Pretrained model folder or hub id."})
    config_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Config, if not the model's."})
    tokenizer_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Tokenizer, if not the model's."})
    use_fast: bool = dataclasses.field(default=False, metadata={"help": "Fast tokenization."})
    cache_dir: Optional[str] = dataclasses.field(default=None, metadata={"help": "Where downloads are cached."})


@dataclasses.dataclass
class DataTrainingArguments:
    data_dir: str = dataclasses.field(metadata={"help": "Folder with train.txt, dev.txt, test.txt (CoNLL)."})
    labels: Optional[str] = dataclasses.field(default=None, metadata={"help": "File with one label a line."})
    max_seq_length: int = dataclasses.field(default=128, metadata={"help": "Tokens per example, padded."})
    overwrite_cache: bool = dataclasses.field(default=False, metadata={"help": "Unused: nothing is cached."})


@dataclasses.dataclass
class InputFeatures:
    input_ids: List[int]
    attention_mask: List[int]
    token_type_ids: List[int]
    label_ids: List[int]


def read_examples(data_dir: str, mode: str) -> List[Tuple[List[str], List[str]]]:
    examples, words, labels = [], [], []
    with open(os.path.join(data_dir, f"{mode}.txt"), encoding="utf-8") as handle:
        for line in [*handle, "\n"]:
            if line.startswith("-DOCSTART-") or not line.strip():
                if words:
                    examples.append((words, labels))
                words, labels = [], []
            else:
                parts = line.split()
                words.append(parts[0])
                labels.append(parts[-1] if len(parts) > 1 else "O")
    return examples


def convert_examples_to_features(examples, label_list: List[str], max_seq_length: int,
                                 tokenizer: PreTrainedTokenizer) -> List[InputFeatures]:
    label_map = {label: i for i, label in enumerate(label_list)}
    features = []
    for words, labels in examples:
        tokens, label_ids = [], []
        for word, label in zip(words, labels):
            pieces = tokenizer.tokenize(word)
            if pieces:
                tokens.extend(pieces)
                label_ids.extend([label_map[label]] + [IGNORE_INDEX] * (len(pieces) - 1))
        room = max_seq_length - tokenizer.num_special_tokens_to_add()
        tokens, label_ids = tokens[:room], label_ids[:room]
        tokens = [tokenizer.cls_token, *tokens, tokenizer.sep_token]
        label_ids = [IGNORE_INDEX, *label_ids, IGNORE_INDEX]
        input_ids = tokenizer.convert_tokens_to_ids(tokens)
        padding = max_seq_length - len(input_ids)
        features.append(InputFeatures(
            input_ids=input_ids + [tokenizer.pad_token_id] * padding,
            attention_mask=[1] * len(input_ids) + [0] * padding,
            token_type_ids=[0] * len(input_ids) + [tokenizer.pad_token_type_id] * padding,
            label_ids=label_ids + [IGNORE_INDEX] * padding))
    return features


def get_labels(path: Optional[str]) -> List[str]:
    if not path:
        return ["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    with open(path) as handle:
        labels = handle.read().splitlines()
    return labels if "O" in labels else ["O", *labels]


def main():
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TrainingArguments))
    if len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        model_args, data_args, training_args = parser.parse_json_file(json_file=os.path.abspath(sys.argv[1]))
    else:
        model_args, data_args, training_args = parser.parse_args_into_dataclasses()
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s -   %(message)s", datefmt="%m/%d/%Y %H:%M:%S",
                        level=logging.INFO if training_args.local_rank in [-1, 0] else logging.WARN)
    set_seed(training_args.seed)

    labels = get_labels(data_args.labels)
    label_map: Dict[int, str] = dict(enumerate(labels))
    config = AutoConfig.from_pretrained(model_args.config_name or model_args.model_name_or_path,
                                        num_labels=len(labels), id2label=label_map,
                                        label2id={label: i for i, label in enumerate(labels)},
                                        cache_dir=model_args.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name or model_args.model_name_or_path,
                                              cache_dir=model_args.cache_dir, use_fast=model_args.use_fast)
    model = AutoModelForTokenClassification.from_pretrained(
        model_args.model_name_or_path, from_tf=bool(".ckpt" in model_args.model_name_or_path), config=config,
        cache_dir=model_args.cache_dir)

    def dataset(mode: str) -> List[InputFeatures]:
        return convert_examples_to_features(read_examples(data_args.data_dir, mode), labels, data_args.max_seq_length,
                                            tokenizer)

    train_dataset = dataset("train") if training_args.do_train else None
    eval_dataset = dataset("dev") if training_args.do_eval else None

    def align_predictions(predictions: np.ndarray, label_ids: np.ndarray) -> Tuple[List[List[str]], List[List[str]]]:
        preds = np.argmax(predictions, axis=2)
        keep = label_ids != IGNORE_INDEX
        preds_list = [[label_map[p] for p, k in zip(row, mask) if k] for row, mask in zip(preds, keep)]
        out_label_list = [[label_map[t] for t, k in zip(row, mask) if k] for row, mask in zip(label_ids, keep)]
        return preds_list, out_label_list

    def compute_metrics(p: EvalPrediction) -> Dict:
        preds_list, out_label_list = align_predictions(p.predictions, p.label_ids)
        scores = entity_metrics(out_label_list, preds_list)
        return {key: scores[key] for key in ("precision", "recall", "f1")}

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

    if training_args.do_predict:
        test_examples = read_examples(data_args.data_dir, "test")
        test_dataset = convert_examples_to_features(test_examples, labels, data_args.max_seq_length, tokenizer)
        predictions, label_ids, metrics = trainer.predict(test_dataset)
        preds_list, _ = align_predictions(predictions, label_ids)
        if trainer.is_world_master():
            with open(os.path.join(training_args.output_dir, "test_results.txt"), "w") as writer:
                for key, value in metrics.items():
                    writer.write(f"{key} = {value}\n")
            with open(os.path.join(training_args.output_dir, "test_predictions.txt"), "w") as writer:
                for (words, _), predicted in zip(test_examples, preds_list):
                    for index, word in enumerate(words):
                        writer.write(f"{word} {predicted[index] if index < len(predicted) else 'O'}\n")
                    writer.write("\n")
    return results


if __name__ == "__main__":
    main()
