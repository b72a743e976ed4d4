"""A GLUE fine-tuning script in the shape of Hugging Face's v3 examples, written against tuneformers.

It calls what those scripts call, in the same order: HfArgumentParser over three dataclasses (or one JSON file),
the deprecated TrainingArguments spellings, local_rank / device / n_gpu in the start-up log, AutoConfig with
finetuning_task and cache_dir, GlueDataset for train / dev / test, a compute_metrics closure over
glue_compute_metrics, Trainer.train(model_path=...), save_model, is_world_master, evaluate, predict, and the
eval_results_<task>.txt / test_results_<task>.txt files. The only HF-specific line would be the import.
"""

import dataclasses
import logging
import os
import sys
from typing import Callable, Dict, Optional

import numpy as np

from tuneformers import (AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, EvalPrediction, GlueDataset,
                         HfArgumentParser, Trainer, TrainingArguments, glue_compute_metrics, glue_output_modes,
                         glue_tasks_num_labels, set_seed)
from tuneformers import GlueDataTrainingArguments as DataTrainingArguments

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class ModelArguments:
    model_name_or_path: str = dataclasses.field(metadata={"help": "Pretrained model folder or hub id."})
    config_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Config, if not the model's."})
    tokenizer_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Tokenizer, if not the model's."})
    cache_dir: Optional[str] = dataclasses.field(default=None, metadata={"help": "Where downloads are cached."})


def main() -> Dict[str, float]:
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TrainingArguments))
    if len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        model_args, data_args, training_args = parser.parse_json_file(json_file=os.path.abspath(sys.argv[1]))
    else:
        model_args, data_args, training_args = parser.parse_args_into_dataclasses()
    if (os.path.exists(training_args.output_dir) and os.listdir(training_args.output_dir) and training_args.do_train
            and not training_args.overwrite_output_dir):
        raise ValueError(f"Output directory ({training_args.output_dir}) already exists and is not empty.")
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s -   %(message)s", datefmt="%m/%d/%Y %H:%M:%S",
                        level=logging.INFO if training_args.local_rank in [-1, 0] else logging.WARN)
    logger.warning("Process rank: %s, device: %s, n_gpu: %s, distributed training: %s, 16-bits training: %s",
                   training_args.local_rank, training_args.device, training_args.n_gpu,
                   bool(training_args.local_rank != -1), training_args.fp16)
    set_seed(training_args.seed)

    num_labels = glue_tasks_num_labels[data_args.task_name]
    output_mode = glue_output_modes[data_args.task_name]
    config = AutoConfig.from_pretrained(model_args.config_name or model_args.model_name_or_path, num_labels=num_labels,
                                        finetuning_task=data_args.task_name, cache_dir=model_args.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name or model_args.model_name_or_path,
                                              cache_dir=model_args.cache_dir)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_args.model_name_or_path, from_tf=bool(".ckpt" in model_args.model_name_or_path), config=config,
        cache_dir=model_args.cache_dir)

    train_dataset = GlueDataset(data_args, tokenizer=tokenizer) if training_args.do_train else None
    eval_dataset = GlueDataset(data_args, tokenizer=tokenizer, mode="dev") if training_args.do_eval else None
    test_dataset = GlueDataset(data_args, tokenizer=tokenizer, mode="test") if training_args.do_predict else None

    def build_compute_metrics_fn(task_name: str) -> Callable[[EvalPrediction], Dict]:
        def compute_metrics_fn(p: EvalPrediction) -> Dict:
            preds = np.argmax(p.predictions, axis=1) if output_mode == "classification" else np.squeeze(p.predictions)
            return glue_compute_metrics(task_name, preds, p.label_ids)

        return compute_metrics_fn

    trainer = Trainer(model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                      compute_metrics=build_compute_metrics_fn(data_args.task_name))
    if training_args.do_train:
        trainer.train(model_path=model_args.model_name_or_path if os.path.isdir(model_args.model_name_or_path) else None)
        trainer.save_model()
        if trainer.is_world_master():
            tokenizer.save_pretrained(training_args.output_dir)

    eval_results = {}
    if training_args.do_eval:
        eval_result = trainer.evaluate(eval_dataset=eval_dataset)
        output_eval_file = os.path.join(training_args.output_dir, f"eval_results_{data_args.task_name}.txt")
        if trainer.is_world_master():
            with open(output_eval_file, "w") as writer:
                for key, value in eval_result.items():
                    writer.write(f"{key} = {value}\n")
        eval_results.update(eval_result)
    if training_args.do_predict:
        predictions = trainer.predict(test_dataset=test_dataset).predictions
        if output_mode == "classification":
            predictions = np.argmax(predictions, axis=1)
        output_test_file = os.path.join(training_args.output_dir, f"test_results_{data_args.task_name}.txt")
        if trainer.is_world_master():
            with open(output_test_file, "w") as writer:
                writer.write("index\tprediction\n")
                for index, item in enumerate(predictions):
                    writer.write(f"{index}\t{test_dataset.get_labels()[item]}\n")
    return eval_results


if __name__ == "__main__":
    main()
