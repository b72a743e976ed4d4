"""Trainer plumbing: seeding, RNG state capture/restore, the batch plan, FLOP guesses (distributed: distributed.py)."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..trainer_utils import concat_rows
from .distributed import all_reduce_sum


# ---- seeds and RNG state -------------------------------------------------------------------------


def set_seed(seed: int) -> None:
    """Seed python's ``random``, numpy and torch (all CUDA devices too)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def get_rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """This process's RNG states as (tensors, JSON-able dict): torch CPU/CUDA as tensors, python/numpy as JSON."""
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"torch_cuda_{index}"] = state
    version, python_state, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state()
    plain = {
        "python": {"version": version, "state": list(python_state), "gauss": gauss},
        "numpy": {"kind": kind, "keys": keys.tolist(), "pos": int(position), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached)},
    }
    return tensors, plain


def set_rng_state(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> None:
    """Restore what ``get_rng_state`` captured."""
    torch.set_rng_state(tensors["torch_cpu"])
    cuda_states = [tensors[key] for key in sorted(k for k in tensors if k.startswith("torch_cuda_"))]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    python = plain["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))
    state = plain["numpy"]
    np.random.set_state((state["kind"], np.asarray(state["keys"], dtype=np.uint32), state["pos"],
                         state["has_gauss"], state["cached_gaussian"]))


# ---- the batch plan ------------------------------------------------------------------------------


def example_lengths(dataset: Any, key: str = "input_ids") -> list[int] | None:
    """Lengths of ``dataset[i][key]``, computed once; a ``length`` column or key is used when present.

    Reads whole columns of column datasets (HF ``datasets``) at once. None when there is no such key.
    """
    columns = getattr(dataset, "column_names", None)
    if columns is not None:
        if "length" in columns:
            return [int(length) for length in dataset["length"]]
        if key in columns:
            return [len(value) for value in dataset[key]]
        return None
    if len(dataset) == 0:
        return None
    first = dataset[0]
    if not hasattr(first, "keys"):
        return None
    name = "length" if "length" in first else key if key in first else None
    if name is None:
        return None
    if name == "length":
        return [int(dataset[index]["length"]) for index in range(len(dataset))]
    return [len(dataset[index][name]) for index in range(len(dataset))]


def epoch_batches(
    num_examples: int,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    shuffle: bool = True,
    lengths: Sequence[int] | None = None,
    drop_last: bool = False,
    rank: int = 0,
    world_size: int = 1,
    accumulation: int = 1,
    start: int = 0,
) -> list[list[int]]:
    """This rank's batches of example indices for one epoch, from global sample position ``start``.

    A pure function of its arguments: the order depends only on (seed, epoch), never on global RNG
    state. Positions count examples of the epoch's order over all processes, so a run resumed on
    another number of processes continues from the same example: with the same examples per optimizer
    step (``batch_size * world_size * accumulation``), every later step sees the same examples. With
    ``lengths``, the shuffled order is cut into mega-batches of 50 optimizer steps, each sorted longest
    first, so batches hold similar lengths. Each global batch of ``batch_size * world_size`` examples is
    split into contiguous per-rank slices; the order is wrapped around to a multiple of the world size
    (as torch's DistributedSampler does), so every rank runs the same number of batches.
    """
    order = np.random.default_rng([seed, epoch]).permutation(num_examples) if shuffle else np.arange(num_examples)
    if lengths is not None:
        lengths_array = np.asarray(lengths)
        mega = batch_size * world_size * accumulation * 50
        chunks = [order[first : first + mega] for first in range(0, len(order), mega)]
        order = np.concatenate([chunk[np.argsort(-lengths_array[chunk], kind="stable")] for chunk in chunks])
    if world_size > 1 and num_examples % world_size:
        order = np.concatenate([order, order[: world_size - num_examples % world_size]])
    order = order[start:]
    global_size = batch_size * world_size
    batches = []
    for first in range(0, len(order), global_size):
        global_batch = order[first : first + global_size]
        if drop_last and len(global_batch) < global_size:
            break
        per_rank = math.ceil(len(global_batch) / world_size)
        batches.append(global_batch[rank * per_rank : (rank + 1) * per_rank].tolist())
    return batches


# ---- throughput ------------------------------------------------------------------------------------

# Dense bf16/fp16 tensor-core peaks from vendor data sheets (no sparsity), by device-name fragment.
# A guess for MFU only: clocks, power limits and SKUs vary. CPUs are left out (no useful peak).
_PEAK_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40": 181e12, "A10": 125e12, "L4": 121e12,
               "4090": 165e12, "3090": 71e12, "V100": 125e12, "T4": 65e12}


def peak_flops(device: torch.device) -> float | None:
    """A documented guess of one device's peak FLOP/s for MFU, or None (CPU, unknown GPU)."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for fragment, flops in _PEAK_FLOPS.items():
        if fragment in name:
            return flops
    return None


class ThroughputMeter:
    """Counts examples and non-padding tokens of the batches seen since the last read."""

    def __init__(self, device: torch.device):
        self.device = device
        self.samples, self.tokens, self.start = 0, 0, time.perf_counter()

    def add(self, batch: dict[str, Any]) -> None:
        self.samples += num_rows(batch)
        self.tokens += num_tokens(batch)

    def read_and_reset(self) -> tuple[int, int, float]:
        """(examples, tokens, seconds) since the last read, examples and tokens summed over processes."""
        counts = all_reduce_sum(torch.tensor([float(self.samples), float(self.tokens)], device=self.device)).tolist()
        now = time.perf_counter()
        seconds = max(now - self.start, 1e-9)
        self.samples, self.tokens, self.start = 0, 0, now
        return int(counts[0]), int(counts[1]), seconds


# ---- batches and outputs ----------------------------------------------------------------------------


class BatchCollator:
    """Drop keys the model does not take, call the collator, return torch tensors (picklable for workers)."""

    def __init__(self, collator: Callable, keep: set[str] | None):
        self.collator, self.keep = collator, keep

    def __call__(self, features: list[Any]) -> dict[str, Any]:
        if self.keep is not None and features and hasattr(features[0], "keys"):
            features = [{key: value for key, value in f.items() if key in self.keep} for f in features]
        batch = self.collator(features)
        return {key: as_tensor(value) for key, value in batch.items()}


def as_tensor(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (int, float, list)):
        return torch.tensor(value)
    return value


def num_rows(batch: dict[str, Any]) -> int:
    for value in batch.values():
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            return value.shape[0]
    return 0


def num_tokens(batch: dict[str, Any]) -> int:
    if isinstance(batch.get("attention_mask"), torch.Tensor):
        return int(batch["attention_mask"].sum())
    if isinstance(batch.get("input_ids"), torch.Tensor):
        return batch["input_ids"].numel()
    return 0


def to_host(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(to_host(v) for v in value)
    value = value.detach()
    return (value.float() if value.dtype in (torch.bfloat16, torch.float16) else value).cpu().numpy()


def rows_in_place(rows: Any, places: list[int]) -> Any:
    """Rows computed in some order back in their places: row j goes to ``places[j]`` (tuples and dicts of
    arrays field by field; None stays None)."""
    if rows is None:
        return None
    if isinstance(rows, tuple):
        return tuple(rows_in_place(part, places) for part in rows)
    if isinstance(rows, dict):
        return {key: rows_in_place(part, places) for key, part in rows.items()}
    out = np.empty_like(rows)
    out[np.asarray(places)] = rows
    return out


def interleave_ranks(parts: list[Any]) -> Any:
    """Undo the rank-strided split: rank r's j-th row is example j * world + r."""
    if len(parts) == 1 or parts[0] is None:
        return parts[0]
    if isinstance(parts[0], tuple):
        return tuple(interleave_ranks([p[i] for p in parts]) for i in range(len(parts[0])))
    padded = concat_rows(parts)  # pads a ragged second axis consistently across ranks
    out = np.empty_like(padded)
    row = 0
    for rank, p in enumerate(parts):
        out[rank :: len(parts)][: len(p)] = padded[row : row + len(p)]
        row += len(p)
    return out
