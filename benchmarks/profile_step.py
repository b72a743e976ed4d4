"""Where a training step's time goes: torch.profiler over tuneformers' Trainer on all-MiniLM-L6-v2.

    python benchmarks/profile_step.py                  # bf16 autocast, dynamic padding + group_by_length (setting d)
    python benchmarks/profile_step.py --fp32           # setting (c)
    python benchmarks/profile_step.py --hf             # the same for HF transformers' Trainer, for comparison

Data and recipe are bench_trainer.py's (Rotten Tomatoes pairs, bs 32). Runs ``--steps`` optimizer steps, profiles
the last ``--profiled`` of them, and prints the share of self CPU time per kind of operator (matmul and attention
kernels vs casts, normalisation, dropout, element-wise, optimizer, data movement) and the top operators.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_trainer import BATCH_SIZE, build_trainer, examples, load_tokenizer, minilm_dir, tokenize  # noqa: E402

KINDS = [  # (kind, substrings of operator names), first match wins
    ("matmul", ("mm", "linear", "matmul", "addmm", "bmm", "baddbmm")),
    ("attention kernel", ("scaled_dot_product", "flash_attention", "_efficient_attention")),
    ("casts / copies", ("_to_copy", "aten::to", "copy_", "contiguous", "clone")),
    ("layer norm", ("layer_norm",)),
    ("dropout / random", ("dropout", "bernoulli", "rand")),
    ("activation", ("gelu", "tanh", "relu")),
    ("optimizer", ("foreach", "adam", "lerp", "addcdiv", "addcmul", "sqrt", "_fused")),
    ("embedding", ("embedding",)),
    ("gather / scatter", ("index", "gather", "scatter", "nonzero", "masked", "searchsorted")),
    ("loss", ("cross_entropy", "nll", "log_softmax")),
    ("element-wise", ("add", "mul", "div", "sub", "fill", "zero", "where", "sum", "mean", "pow", "neg")),
]


def kind_of(name: str) -> str:
    lowered = name.lower()
    for kind, needles in KINDS:
        if any(needle in lowered for needle in needles):
            return kind
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fp32", action="store_true")
    parser.add_argument("--hf", action="store_true")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--profiled", type=int, default=6)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile

    impl = "hf" if args.hf else "ours"
    model_dir = minilm_dir()
    tokenizer, _ = load_tokenizer(model_dir)
    if impl == "hf":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    train = tokenize(tokenizer, examples("pairs", args.steps * BATCH_SIZE), pad_to_128=False)
    profiler = profile(activities=[ProfilerActivity.CPU])
    if impl == "ours":
        from tuneformers import TrainerCallback
    else:
        from transformers import TrainerCallback

    class ProfileLastSteps(TrainerCallback):
        def on_step_end(self, train_args, state, control, **kwargs):
            if state.global_step == args.steps - args.profiled:
                profiler.__enter__()
            elif state.global_step == args.steps:
                profiler.__exit__(None, None, None)

    with tempfile.TemporaryDirectory() as output_dir:
        trainer = build_trainer(impl, model_dir, tokenizer, train, None, output_dir, steps=args.steps,
                                group_by_length=True, bf16=not args.fp32, pad_to_128=False, learning_rate=2e-5)
        trainer.add_callback(ProfileLastSteps())
        trainer.train()

    events = [event for event in profiler.key_averages() if event.self_cpu_time_total > 0]
    total = sum(event.self_cpu_time_total for event in events)
    by_kind: dict[str, float] = collections.Counter()
    for event in events:
        by_kind[kind_of(event.key)] += event.self_cpu_time_total
    per_step_ms = total / 1000 / args.profiled
    print(f"{impl}, {'fp32' if args.fp32 else 'bf16'}: {per_step_ms:.0f} ms of operator self time per step "
          f"(threads {torch.get_num_threads()})")
    print("| kind | share | ms/step |\n|---|---|---|")
    for kind, micros in sorted(by_kind.items(), key=lambda item: -item[1]):
        print(f"| {kind} | {micros / total:.1%} | {micros / 1000 / args.profiled:.1f} |")
    print(f"\ntop {args.top} operators by self CPU time:")
    print("| operator | kind | share | calls/step |\n|---|---|---|---|")
    for event in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]:
        print(f"| {event.key} | {kind_of(event.key)} | {event.self_cpu_time_total / total:.1%} | "
              f"{event.count / args.profiled:.0f} |")


if __name__ == "__main__":
    main()
