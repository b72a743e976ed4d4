"""Extractive QA in the shape of Hugging Face's v3 ``run_squad.py`` (its own training loop, no Trainer), written
against tuneformers: MODEL_FOR_QUESTION_ANSWERING_MAPPING for the model types, SquadV1Processor / SquadV2Processor,
squad_convert_examples_to_features(return_dataset="pt"), AdamW with the no-decay parameter groups and
get_linear_schedule_with_warmup, ``outputs[0]`` as the loss, WEIGHTS_NAME, SquadResult per window,
compute_predictions_logits writing predictions_.json / nbest_predictions_.json, and squad_evaluate's scores
(logged as ``Results: {...}`` and written to eval_results.json).
"""

import argparse
import json
import logging
import os
import random

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler

from tuneformers import (MODEL_FOR_QUESTION_ANSWERING_MAPPING, WEIGHTS_NAME, AdamW, AutoConfig,
                         AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup,
                         squad_convert_examples_to_features)
from tuneformers.data.metrics.squad_metrics import compute_predictions_logits, squad_evaluate
from tuneformers.data.processors.squad import SquadResult, SquadV1Processor, SquadV2Processor

logger = logging.getLogger(__name__)
MODEL_TYPES = tuple(config.model_type for config in MODEL_FOR_QUESTION_ANSWERING_MAPPING.keys())


def set_seed(args):
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)


def to_list(tensor):
    return tensor.detach().cpu().tolist()


def load_and_cache_examples(args, tokenizer, evaluate=False, output_examples=False):
    processor = SquadV2Processor() if args.version_2_with_negative else SquadV1Processor()
    if evaluate:
        examples = processor.get_dev_examples(args.data_dir, filename=args.predict_file)
    else:
        examples = processor.get_train_examples(args.data_dir, filename=args.train_file)
    features, dataset = squad_convert_examples_to_features(
        examples=examples, tokenizer=tokenizer, max_seq_length=args.max_seq_length, doc_stride=args.doc_stride,
        max_query_length=args.max_query_length, is_training=not evaluate, return_dataset="pt", threads=args.threads)
    return (dataset, examples, features) if output_examples else dataset


def train(args, train_dataset, model, tokenizer):
    train_dataloader = DataLoader(train_dataset, sampler=RandomSampler(train_dataset), batch_size=args.train_batch_size)
    t_total = args.max_steps if args.max_steps > 0 else len(train_dataloader) * args.num_train_epochs
    no_decay = ["bias", "LayerNorm.weight"]
    optimizer_grouped_parameters = [
        {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
         "weight_decay": args.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = AdamW(optimizer_grouped_parameters, lr=args.learning_rate, eps=args.adam_epsilon)
    scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=args.warmup_steps,
                                                num_training_steps=t_total)
    global_step, tr_loss = 0, 0.0
    model.zero_grad()
    set_seed(args)
    while global_step < t_total:
        for batch in train_dataloader:
            model.train()
            batch = tuple(t.to(args.device) for t in batch)
            inputs = {"input_ids": batch[0], "attention_mask": batch[1], "token_type_ids": batch[2],
                      "start_positions": batch[3], "end_positions": batch[4]}
            outputs = model(**inputs)
            loss = outputs[0]
            loss.backward()
            tr_loss += loss.item()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            model.zero_grad()
            global_step += 1
            if global_step >= t_total:
                break
    return global_step, tr_loss / max(global_step, 1)


def evaluate(args, model, tokenizer, prefix=""):
    dataset, examples, features = load_and_cache_examples(args, tokenizer, evaluate=True, output_examples=True)
    eval_dataloader = DataLoader(dataset, sampler=SequentialSampler(dataset), batch_size=args.eval_batch_size)
    all_results = []
    for batch in eval_dataloader:
        model.eval()
        batch = tuple(t.to(args.device) for t in batch)
        with torch.no_grad():
            inputs = {"input_ids": batch[0], "attention_mask": batch[1], "token_type_ids": batch[2]}
            outputs = model(**inputs)
        for i, feature_index in enumerate(batch[3]):
            eval_feature = features[feature_index.item()]
            start_logits, end_logits = [to_list(output[i]) for output in outputs]
            all_results.append(SquadResult(int(eval_feature.unique_id), start_logits, end_logits))
    output_prediction_file = os.path.join(args.output_dir, f"predictions_{prefix}.json")
    output_nbest_file = os.path.join(args.output_dir, f"nbest_predictions_{prefix}.json")
    output_null_log_odds_file = os.path.join(args.output_dir, f"null_odds_{prefix}.json") \
        if args.version_2_with_negative else None
    predictions = compute_predictions_logits(
        examples, features, all_results, args.n_best_size, args.max_answer_length, args.do_lower_case,
        output_prediction_file, output_nbest_file, output_null_log_odds_file, args.verbose_logging,
        args.version_2_with_negative, args.null_score_diff_threshold, tokenizer)
    return squad_evaluate(examples, predictions)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_type", required=True, help="One of " + ", ".join(MODEL_TYPES))
    parser.add_argument("--model_name_or_path", required=True)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--train_file", default=None)
    parser.add_argument("--predict_file", default=None)
    parser.add_argument("--version_2_with_negative", action="store_true")
    parser.add_argument("--null_score_diff_threshold", type=float, default=0.0)
    parser.add_argument("--max_seq_length", default=384, type=int)
    parser.add_argument("--doc_stride", default=128, type=int)
    parser.add_argument("--max_query_length", default=64, type=int)
    parser.add_argument("--do_train", action="store_true")
    parser.add_argument("--do_eval", action="store_true")
    parser.add_argument("--do_lower_case", action="store_true")
    parser.add_argument("--per_gpu_train_batch_size", default=8, type=int)
    parser.add_argument("--per_gpu_eval_batch_size", default=8, type=int)
    parser.add_argument("--learning_rate", default=5e-5, type=float)
    parser.add_argument("--weight_decay", default=0.0, type=float)
    parser.add_argument("--adam_epsilon", default=1e-8, type=float)
    parser.add_argument("--max_grad_norm", default=1.0, type=float)
    parser.add_argument("--num_train_epochs", default=3.0, type=float)
    parser.add_argument("--max_steps", default=-1, type=int)
    parser.add_argument("--warmup_steps", default=0, type=int)
    parser.add_argument("--n_best_size", default=20, type=int)
    parser.add_argument("--max_answer_length", default=30, type=int)
    parser.add_argument("--verbose_logging", action="store_true")
    parser.add_argument("--no_cuda", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    args.device = torch.device("cuda" if torch.cuda.is_available() and not args.no_cuda else "cpu")
    args.n_gpu = 0 if args.no_cuda else torch.cuda.device_count()
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s -   %(message)s", datefmt="%m/%d/%Y %H:%M:%S",
                        level=logging.INFO)
    set_seed(args)
    args.model_type = args.model_type.lower()
    config = AutoConfig.from_pretrained(args.model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(args.model_name_or_path, do_lower_case=args.do_lower_case)
    model = AutoModelForQuestionAnswering.from_pretrained(args.model_name_or_path,
                                                          from_tf=bool(".ckpt" in args.model_name_or_path),
                                                          config=config)
    model.to(args.device)
    args.train_batch_size = args.per_gpu_train_batch_size * max(1, args.n_gpu)
    args.eval_batch_size = args.per_gpu_eval_batch_size * max(1, args.n_gpu)

    if args.do_train:
        train_dataset = load_and_cache_examples(args, tokenizer, evaluate=False, output_examples=False)
        global_step, tr_loss = train(args, train_dataset, model, tokenizer)
        logger.info(" global_step = %s, average loss = %s", global_step, tr_loss)
        os.makedirs(args.output_dir, exist_ok=True)
        model_to_save = model.module if hasattr(model, "module") else model
        model_to_save.save_pretrained(args.output_dir)
        tokenizer.save_pretrained(args.output_dir)
        model = AutoModelForQuestionAnswering.from_pretrained(args.output_dir)
        tokenizer = AutoTokenizer.from_pretrained(args.output_dir, do_lower_case=args.do_lower_case)
        model.to(args.device)
        logger.info("Saved %s", os.path.join(args.output_dir, WEIGHTS_NAME))

    results = {}
    if args.do_eval:
        results = evaluate(args, model, tokenizer)
        logger.info("Results: %s", results)
        with open(os.path.join(args.output_dir, "eval_results.json"), "w") as writer:
            json.dump(results, writer, indent=2)
    return results


if __name__ == "__main__":
    main()
