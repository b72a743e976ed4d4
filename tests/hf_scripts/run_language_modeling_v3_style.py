"""Masked-language-model fine-tuning in the shape of Hugging Face's v3 ``run_language_modeling.py``, written
against tuneformers: HfArgumentParser over three dataclasses, AutoConfig or CONFIG_MAPPING[model_type],
AutoModelWithLMHead, resize_token_embeddings, tokenizer.max_len, LineByLineTextDataset or TextDataset,
DataCollatorForLanguageModeling, Trainer(prediction_loss_only=True), train(model_path=...), and the perplexity in
eval_results_lm.txt. The only HF-specific line would be the import.
"""

import dataclasses
import logging
import math
import os
from typing import Optional

from tuneformers import (CONFIG_MAPPING, MODEL_WITH_LM_HEAD_MAPPING, AutoConfig, AutoModelWithLMHead, AutoTokenizer,
                         DataCollatorForLanguageModeling, HfArgumentParser, LineByLineTextDataset, PreTrainedTokenizer,
                         TextDataset, Trainer, TrainingArguments, set_seed)

logger = logging.getLogger(__name__)
MODEL_TYPES = tuple(config.model_type for config in MODEL_WITH_LM_HEAD_MAPPING.keys())


@dataclasses.dataclass
class ModelArguments:
    model_name_or_path: Optional[str] = dataclasses.field(default=None, metadata={"help": "None trains from scratch."})
    model_type: Optional[str] = dataclasses.field(default=None, metadata={"help": "One of " + ", ".join(MODEL_TYPES)})
    config_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Config, if not the model's."})
    tokenizer_name: Optional[str] = dataclasses.field(default=None, metadata={"help": "Tokenizer, if not the model's."})
    cache_dir: Optional[str] = dataclasses.field(default=None, metadata={"help": "Where downloads are cached."})


@dataclasses.dataclass
class DataTrainingArguments:
    train_data_file: Optional[str] = dataclasses.field(default=None, metadata={"help": "Training text file."})
    eval_data_file: Optional[str] = dataclasses.field(default=None, metadata={"help": "Evaluation text file."})
    line_by_line: bool = dataclasses.field(default=False, metadata={"help": "One example per line."})
    mlm: bool = dataclasses.field(default=False, metadata={"help": "Masked-language-model loss."})
    mlm_probability: float = dataclasses.field(default=0.15, metadata={"help": "Share of tokens to mask."})
    block_size: int = dataclasses.field(default=-1, metadata={"help": "Tokens per block; -1 for the model maximum."})
    overwrite_cache: bool = dataclasses.field(default=False, metadata={"help": "Rebuild the cached blocks."})


def get_dataset(args: DataTrainingArguments, tokenizer: PreTrainedTokenizer, evaluate: bool = False,
                cache_dir: Optional[str] = None):
    file_path = args.eval_data_file if evaluate else args.train_data_file
    if args.line_by_line:
        return LineByLineTextDataset(tokenizer=tokenizer, file_path=file_path, block_size=args.block_size)
    return TextDataset(tokenizer=tokenizer, file_path=file_path, block_size=args.block_size,
                       overwrite_cache=args.overwrite_cache, cache_dir=cache_dir)


def main():
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TrainingArguments))
    model_args, data_args, training_args = parser.parse_args_into_dataclasses()
    if data_args.eval_data_file is None and training_args.do_eval:
        raise ValueError("--do_eval needs --eval_data_file.")
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s -   %(message)s", datefmt="%m/%d/%Y %H:%M:%S",
                        level=logging.INFO if training_args.local_rank in [-1, 0] else logging.WARN)
    logger.warning("Process rank: %s, device: %s, n_gpu: %s, distributed training: %s, 16-bits training: %s",
                   training_args.local_rank, training_args.device, training_args.n_gpu,
                   bool(training_args.local_rank != -1), training_args.fp16)
    set_seed(training_args.seed)

    if model_args.config_name or model_args.model_name_or_path:
        config = AutoConfig.from_pretrained(model_args.config_name or model_args.model_name_or_path,
                                            cache_dir=model_args.cache_dir)
    else:
        config = CONFIG_MAPPING[model_args.model_type]()
        logger.warning("You are instantiating a new config instance from scratch.")
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name or model_args.model_name_or_path,
                                              cache_dir=model_args.cache_dir)
    model = AutoModelWithLMHead.from_pretrained(model_args.model_name_or_path,
                                                from_tf=bool(".ckpt" in model_args.model_name_or_path), config=config,
                                                cache_dir=model_args.cache_dir)
    model.resize_token_embeddings(len(tokenizer))
    if config.model_type in ["bert", "roberta", "distilbert", "camembert"] and not data_args.mlm:
        raise ValueError("BERT and RoBERTa-like models need --mlm (masked language modeling).")
    data_args.block_size = tokenizer.max_len if data_args.block_size <= 0 else min(data_args.block_size, tokenizer.max_len)

    train_dataset = get_dataset(data_args, tokenizer=tokenizer, cache_dir=model_args.cache_dir) \
        if training_args.do_train else None
    eval_dataset = get_dataset(data_args, tokenizer=tokenizer, evaluate=True, cache_dir=model_args.cache_dir) \
        if training_args.do_eval else None
    data_collator = DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=data_args.mlm,
                                                    mlm_probability=data_args.mlm_probability)
    trainer = Trainer(model=model, args=training_args, data_collator=data_collator, train_dataset=train_dataset,
                      eval_dataset=eval_dataset, prediction_loss_only=True)
    if training_args.do_train:
        model_path = model_args.model_name_or_path if os.path.isdir(model_args.model_name_or_path or "") else None
        trainer.train(model_path=model_path)
        trainer.save_model()
        if trainer.is_world_master():
            tokenizer.save_pretrained(training_args.output_dir)

    results = {}
    if training_args.do_eval:
        eval_output = trainer.evaluate()
        result = {"perplexity": math.exp(eval_output["eval_loss"])}
        if trainer.is_world_master():
            with open(os.path.join(training_args.output_dir, "eval_results_lm.txt"), "w") as writer:
                for key in sorted(result.keys()):
                    writer.write(f"{key} = {result[key]}\n")
        results.update(result)
    return results


if __name__ == "__main__":
    main()
