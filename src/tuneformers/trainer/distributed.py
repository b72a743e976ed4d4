"""torch.distributed for the Trainer: the process group, collectives, FSDP2 sharding and sharded checkpoints.

Everything runs under ``torchrun`` (one machine or many: ``--nnodes N --rdzv_backend c10d``); rank, local
rank and world size come from its environment. gloo on the CPU, nccl on CUDA (each process takes
``cuda:LOCAL_RANK``). Collectives time out after ``TrainingArguments.ddp_timeout`` seconds, and a collective
that fails because another process died raises ``PeerFailureError`` naming the processes that stopped answering
(torchrun's own summary names the process that died, on its machine).

FSDP2 (``TrainingArguments.fsdp``): every transformer layer (each element of an ``nn.ModuleList``) and then the
whole model are wrapped with ``torch.distributed.fsdp.fully_shard``; parameters, gradients and optimizer state
are split over the processes. Checkpoints go through ``torch.distributed.checkpoint`` (each process writes its
shard), and ``full_state_dict`` gathers the whole model on rank 0 for ``save_pretrained``.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ..utils import get_logger
from .training_args import fsdp_options

logger = get_logger(__name__)

SHARDED_FOLDER = "sharded"  # inside a checkpoint: the torch.distributed.checkpoint files of model and optimizer
_CHECK_IN_SECONDS = 10.0


class PeerFailureError(RuntimeError):
    """A collective failed: another process died, was killed or stopped answering."""


# ---- the process group -------------------------------------------------------------------------


def init_distributed(use_cpu: bool = False, timeout_seconds: int = 1800) -> tuple[int, int, torch.device]:
    """(rank, world size, device) of this process; starts the process group under torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available() and not use_cpu
    if world_size == 1:
        return 0, 1, torch.device("cuda" if cuda else "cpu")
    device = torch.device("cuda", local_rank()) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        timeout = datetime.timedelta(seconds=timeout_seconds)
        if cuda:  # bound to its GPU: NCCL connects at once and a wrong device fails here, not at the first step
            dist.init_process_group(backend="nccl", timeout=timeout, device_id=device)
        else:
            dist.init_process_group(backend="gloo", timeout=timeout)
        atexit.register(_close_process_group)
    return dist.get_rank(), dist.get_world_size(), device


def local_rank() -> int:
    """This process's rank on its machine (torchrun's LOCAL_RANK); 0 when not distributed."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def local_world_size() -> int:
    """Processes on this machine (torchrun's LOCAL_WORLD_SIZE)."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))


def _close_process_group() -> None:
    """Wait for the other processes, then tear the group down before the interpreter does: left to
    interpreter shutdown, gloo's threads can be destroyed while still joinable and abort the process."""
    if not dist.is_initialized():
        return
    try:
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=60))
        dist.destroy_process_group()
    except Exception as error:  # a peer that died first: nothing left to wait for
        logger.warning("Closing the process group failed: %s", error)


def _store() -> Any:
    try:
        from torch.distributed.distributed_c10d import _get_default_store

        return _get_default_store()
    except Exception:
        return None


def unanswering_ranks(event: str, wait_seconds: float = _CHECK_IN_SECONDS) -> list[int] | None:
    """After a failed collective: every surviving process checks in under ``event`` in the rendezvous store and
    waits for the others; the ranks that never check in (killed, crashed or hung) are returned. None when the
    store is gone too (it lives with rank 0's torchrun agent)."""
    store = _store()
    if store is None:
        return None
    prefix = f"tuneformers/failure/{event}/"
    world = dist.get_world_size()
    try:
        store.set(f"{prefix}{dist.get_rank()}", "alive")
        deadline = time.monotonic() + wait_seconds
        missing = list(range(world))
        while missing and time.monotonic() < deadline:
            missing = [rank for rank in missing if not store.check([f"{prefix}{rank}"])]
            time.sleep(0.2)
        return missing
    except Exception:
        return None


@contextlib.contextmanager
def peer_failures_named(what: str) -> Iterator[None]:
    """Turn a failed collective inside the block into PeerFailureError naming the silent processes."""
    try:
        yield
    except (RuntimeError, dist.DistError) as error:
        if not is_distributed() or not _looks_like_peer_failure(error):
            raise
        silent = unanswering_ranks(what)
        who = (f"the process(es) of rank {', '.join(map(str, silent))} stopped answering (killed, crashed or hung)"
               if silent else "another process failed")
        raise PeerFailureError(
            f"Rank {dist.get_rank()}: {what} failed because {who}: {str(error).splitlines()[0][:300]}. torchrun's "
            "summary names the process that failed first. Restart the job and resume from the last checkpoint "
            "(resume_from_checkpoint=True): checkpoints are written atomically, so the last one is complete.") from None


def _looks_like_peer_failure(error: BaseException) -> bool:
    if isinstance(error, dist.DistError):
        return True
    text = str(error).lower()
    return any(sign in text for sign in ("connection closed", "connection reset", "broken pipe", "timed out",
                                         "timeout", "peer", "gloo", "nccl", "socket"))


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum over processes (in place on a copy); the tensor itself when not distributed."""
    if not is_distributed():
        return tensor
    tensor = tensor.clone()
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_true(flag: bool, device: torch.device) -> bool:
    """Whether ``flag`` holds on every process."""
    if not is_distributed():
        return flag
    value = torch.tensor(int(flag), device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value)


def gather_objects(value: Any) -> list[Any]:
    """[value of rank 0, value of rank 1, ...] on every process; [value] when not distributed."""
    if not is_distributed():
        return [value]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def gather_to_rank_zero(value: Any) -> list[Any] | None:
    """[value of rank 0, value of rank 1, ...] on rank 0 only (None elsewhere): no other process holds them all."""
    if not is_distributed():
        return [value]
    gathered: list[Any] | None = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(value, gathered, dst=0)
    return gathered


def broadcast_from_rank_zero(value: Any) -> Any:
    """Rank 0's ``value`` on every process."""
    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    if is_distributed():
        dist.barrier()


# ---- FSDP2 -------------------------------------------------------------------------------------


def is_sharded(model: torch.nn.Module) -> bool:
    """True for a model (or module) wrapped with fully_shard."""
    from torch.distributed.fsdp import FSDPModule

    return isinstance(model, FSDPModule)


def shard_model(model: torch.nn.Module, setting: str, bf16: bool, device: torch.device) -> torch.nn.Module:
    """Wrap ``model`` in place with FSDP2: each transformer layer, then the root. Returns the model.

    ``full_shard`` frees the gathered weights after each layer's forward (least memory); ``shard_grad_op`` keeps
    them until the backward (fewer all-gathers); ``hybrid_shard`` shards within a machine and replicates across
    machines; ``offload`` keeps parameters and optimizer state on the CPU. bf16 computes in bfloat16 with
    float32 gradient reduction and float32 master weights.
    """
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, fully_shard

    options = fsdp_options(setting)
    world = dist.get_world_size()
    if "hybrid_shard" in options:
        per_node = local_world_size()
        if world % per_node or world == per_node:
            raise ValueError(f"fsdp='hybrid_shard' needs several machines with the same number of processes each; "
                             f"this job has {world} process(es), {per_node} per machine. Use fsdp='full_shard'.")
        mesh = init_device_mesh(device.type, (world // per_node, per_node), mesh_dim_names=("replicate", "shard"))
    else:
        mesh = init_device_mesh(device.type, (world,))
    settings: dict[str, Any] = {"mesh": mesh, "reshard_after_forward": "shard_grad_op" not in options}
    if bf16:
        settings["mp_policy"] = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    if "offload" in options:
        settings["offload_policy"] = CPUOffloadPolicy()
    layers = [layer for module in model.modules() if isinstance(module, torch.nn.ModuleList) for layer in module]
    for layer in layers:
        fully_shard(layer, **settings)
    fully_shard(model, **settings)
    logger.info(f"FSDP ({' '.join(options)}): {len(layers)} layers and the root sharded over {world} processes.")
    return model


def local_tensor(tensor: torch.Tensor) -> torch.Tensor:
    """A plain tensor: the full value of a replicated DTensor (a gradient norm), else the tensor itself."""
    return tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor


def full_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The whole model's weights on rank 0's CPU (empty elsewhere); every process must call it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def _sharded_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> dict[str, Any]:
    """{"model": ..., "optimizer": ...} as torch.distributed.checkpoint saves and loads it (this process's shards)."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_state_dict

    if optimizer is None:
        return {"model": get_model_state_dict(model)}
    model_state, optimizer_state = get_state_dict(model, optimizer)
    return {"model": model_state, "optimizer": optimizer_state}


def save_sharded(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
    """Each process writes its shard of the model (and optimizer) state into ``folder/sharded``; collective."""
    import torch.distributed.checkpoint as dcp

    dcp.save(_sharded_state(model, optimizer), checkpoint_id=str(folder / SHARDED_FOLDER), no_dist=not is_distributed())


def load_sharded(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
    """Load ``folder/sharded`` into the model (and optimizer), whatever number of processes wrote it; collective."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import set_model_state_dict, set_state_dict

    state = _sharded_state(model, optimizer)
    dcp.load(state, checkpoint_id=str(folder / SHARDED_FOLDER), no_dist=not is_distributed())
    if optimizer is None:
        set_model_state_dict(model, state["model"])
    else:
        set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"])


