"""Dropout on the CPU: torch's kernel vs tuneformers' ``Dropout`` (16 random bits per element, a bool mask).

    python benchmarks/bench_dropout.py                 # all three parts
    python benchmarks/bench_dropout.py --repeats 20

1. The dropout op alone, forward + backward, on a MiniLM-sized n D activation (fp32 and bf16): ns per element.
2. Attention with dropout 0.1 on B N T H (fp32 and bf16), forward + backward: torch's SDPA (which falls back to
   its unfused path when dropout_p > 0 on the CPU) vs the explicit product with ``Dropout`` on the probabilities.
3. A MiniLM-L6 training step (forward + backward, batch of 32 Rotten Tomatoes pairs, fp32 and bf16 autocast)
   with torch's dropout everywhere vs ours; the two alternate, so load from other processes hits both alike.

Each figure is the median over ``--repeats`` runs of the process's CPU time (``time.process_time``), which other
processes on a shared machine disturb far less than wall time; run with OMP_NUM_THREADS=1 for the steadiest figures.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_trainer import BATCH_SIZE, examples, load_tokenizer, minilm_dir, tokenize


def median_seconds(run: Callable[[], None], repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return statistics.median(times)


def dropout_alone(repeats: int) -> None:
    from tuneformers.modeling_layers import Dropout

    n, D = BATCH_SIZE * 52, 384
    print("| dtype | torch ns/element | ours ns/element | speed-up |\n|---|---|---|---|")
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(n, D, dtype=dtype, requires_grad=True)
        seconds = {name: median_seconds(lambda module=module, x=x: module(x).sum().backward(), repeats)
                   for name, module in (("torch", nn.Dropout(0.1)), ("ours", Dropout(0.1)))}
        per_element = {name: s / x.numel() * 1e9 for name, s in seconds.items()}
        print(f"| {str(dtype)[6:]} | {per_element['torch']:.2f} | {per_element['ours']:.2f} | "
              f"{seconds['torch'] / seconds['ours']:.2f} |")


def attention(repeats: int) -> None:
    from tuneformers.modeling_layers import Dropout

    B, N, T, H = BATCH_SIZE, 12, 52, 32
    print("\n| dtype | SDPA with dropout ms | explicit + ours ms | speed-up |\n|---|---|---|---|")
    for dtype in (torch.float32, torch.bfloat16):
        q, k, v = (torch.randn(B, N, T, H, dtype=dtype, requires_grad=True) for _ in range(3))
        bias = torch.zeros(B, 1, 1, T, dtype=dtype)
        bias[B // 2:, ..., T - 10:] = torch.finfo(dtype).min
        sdpa = partial(sdpa_step, q, k, v, bias)
        explicit = partial(attend_step, q, k, v, bias, Dropout(0.1))
        torch_ms, ours_ms = (median_seconds(run, repeats) * 1000 for run in (sdpa, explicit))
        print(f"| {str(dtype)[6:]} | {torch_ms:.1f} | {ours_ms:.1f} | {torch_ms / ours_ms:.2f} |")


def sdpa_step(q, k, v, bias) -> None:
    F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=0.1).sum().backward()


def attend_step(q, k, v, bias, dropout) -> None:
    from tuneformers.modeling_layers import attend

    attend(q, k, v, bias, dropout, output_attentions=False)[0].sum().backward()


def sdpa_attend(q, k, v, attention_bias, dropout, output_attentions, scale=None):
    """The attention dispatch before ``Dropout``: SDPA whenever the probabilities are not asked for."""
    dropout_p = dropout.p if dropout.training else 0.0
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attention_bias, dropout_p=dropout_p, scale=scale), None


@contextlib.contextmanager
def torch_dropout():
    """Every ``Dropout`` runs torch's kernel and BERT's attention goes to SDPA, as before ``Dropout`` existed."""
    from tuneformers.modeling_layers import Dropout
    from tuneformers.models.bert import modeling_bert

    forward, attend = Dropout.forward, modeling_bert.attend
    Dropout.forward, modeling_bert.attend = nn.Dropout.forward, sdpa_attend
    try:
        yield
    finally:
        Dropout.forward, modeling_bert.attend = forward, attend


def training_step_once(model, batch, bf16: bool) -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = model(**batch).loss
    loss.backward()
    model.zero_grad(set_to_none=True)


def training_step(repeats: int) -> None:
    from tuneformers import BertForSequenceClassification
    from tuneformers.data.data_collator import DataCollatorWithPadding

    model_dir = minilm_dir()
    tokenizer, _ = load_tokenizer(model_dir)
    rows = tokenize(tokenizer, examples("pairs", BATCH_SIZE), pad_to_128=False)
    batch = DataCollatorWithPadding(tokenizer)(rows)
    model = BertForSequenceClassification.from_pretrained(str(model_dir), num_labels=2).train()
    print(f"\nMiniLM-L6 training step, batch {tuple(batch['input_ids'].shape)}, threads {torch.get_num_threads()}")
    print("| precision | torch dropout ms | ours ms | speed-up |\n|---|---|---|---|")
    for bf16 in (False, True):
        step = partial(training_step_once, model, batch, bf16)
        times: dict[str, list[float]] = {"torch": [], "ours": []}
        step()
        for _ in range(repeats):
            for name, seconds in times.items():
                with torch_dropout() if name == "torch" else contextlib.nullcontext():
                    start = time.process_time()
                    step()
                    seconds.append(time.process_time() - start)
        torch_ms, ours_ms = (statistics.median(times[name]) * 1000 for name in ("torch", "ours"))
        print(f"| {'bf16' if bf16 else 'fp32'} | {torch_ms:.0f} | {ours_ms:.0f} | {torch_ms / ours_ms:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--parts", default="123", help="which of 1, 2, 3 to run")
    args = parser.parse_args()
    print(f"threads {torch.get_num_threads()}; dropout p = 0.1")
    if "1" in args.parts:
        dropout_alone(args.repeats)
    if "2" in args.parts:
        attention(args.repeats)
    if "3" in args.parts:
        training_step(args.repeats)


if __name__ == "__main__":
    main()
