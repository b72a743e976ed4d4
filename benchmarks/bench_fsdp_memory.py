"""Peak memory per process: FSDP2 (full_shard) against DDP, on a model large enough to show it (random weights).

    python benchmarks/bench_fsdp_memory.py [--processes 2] [--layers 12] [--hidden 768] [--steps 3]

Each setting runs as its own torchrun job (gloo on the CPU, or nccl on CUDA when there is a GPU per process):
a BERT-base-sized masked LM (about 110M parameters at the defaults) trained for a few AdamW steps on random
tokens. Every process reports its peak resident memory (CPU: ru_maxrss) or peak CUDA memory, and the memory
after building the model, so the training state's share can be told from the libraries'. Prints one table.

On the CPU both settings run with MALLOC_MMAP_THRESHOLD_=65536: otherwise glibc raises its mmap threshold after
the first large frees and keeps FSDP's freed all-gather buffers in its heap, so resident memory would count
memory the process no longer uses (FSDP then looks no better than DDP).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def worker(settings: dict) -> None:
    import torch

    from tuneformers import BertConfig, BertForMaskedLM
    from tuneformers.trainer.trainer import Trainer
    from tuneformers.trainer.training_args import TrainingArguments

    def peak_mb() -> float:
        if torch.cuda.is_available():
            return torch.cuda.max_memory_allocated() / 2**20
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    config = BertConfig(num_hidden_layers=settings["layers"], hidden_size=settings["hidden"],
                        num_attention_heads=settings["hidden"] // 64, intermediate_size=4 * settings["hidden"])
    torch.manual_seed(0)
    model = BertForMaskedLM(config)
    parameters = sum(p.numel() for p in model.parameters())
    generator = torch.Generator().manual_seed(1)
    data = [{"input_ids": ids, "labels": ids} for ids in torch.randint(5, config.vocab_size, (256, 64),
                                                                         generator=generator)]
    after_model = peak_mb()
    args = TrainingArguments(output_dir=settings["output"], per_device_train_batch_size=4, max_steps=settings["steps"],
                             save_strategy="no", report_to="none", disable_tqdm=True, logging_steps=1000,
                             fsdp=settings["fsdp"])
    Trainer(model, args, train_dataset=data).train()
    result = {"rank": int(os.environ.get("RANK", "0")), "peak_mb": peak_mb(), "after_model_mb": after_model,
              "parameters": parameters}
    Path(settings["output"], f"memory-{result['rank']}.json").write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or "torchrun"
    rows = []
    for fsdp in ("", "full_shard"):
        with tempfile.TemporaryDirectory() as output:
            settings = {"layers": args.layers, "hidden": args.hidden, "steps": args.steps, "fsdp": fsdp,
                        "output": output}
            subprocess.run([torchrun, "--standalone", "--nproc_per_node", str(args.processes), __file__,
                            "--worker", json.dumps(settings)], check=True,
                           env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
                                "MALLOC_MMAP_THRESHOLD_": "65536"})
            results = [json.loads(p.read_text()) for p in sorted(Path(output).glob("memory-*.json"))]
        rows.append((fsdp or "DDP", results))
    parameters = rows[0][1][0]["parameters"]
    print(f"\n{parameters / 1e6:.1f}M parameters, {args.processes} processes; peak memory per process (MB)")
    print(f"{'setting':<12}{'after model':>14}{'peak':>10}{'training share':>16}")
    for name, results in rows:
        after = max(r["after_model_mb"] for r in results)
        peak = max(r["peak_mb"] for r in results)
        print(f"{name:<12}{after:>14,.0f}{peak:>10,.0f}{peak - after:>16,.0f}")
    ddp_peak = max(r["peak_mb"] for r in rows[0][1])
    fsdp_peak = max(r["peak_mb"] for r in rows[1][1])
    print(f"FSDP / DDP peak: {fsdp_peak / ddp_peak:.2f}")


if __name__ == "__main__":
    main()
