"""AdamW with decoupled weight decay, the weight-decay parameter groups, and learning-rate schedules.

Schedules are ``torch.optim.lr_scheduler.LambdaLR`` objects whose multiplier is a module-level
function bound with ``functools.partial``, so a scheduler (and its optimizer) pickles and its
``state_dict`` round-trips.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Iterable

import torch
from torch.optim.adamw import adamw as _torch_adamw_functional
from torch.optim.lr_scheduler import LambdaLR

__all__ = [
    "AdamW",
    "get_parameter_groups",
    "get_constant_schedule",
    "get_constant_schedule_with_warmup",
    "get_linear_schedule_with_warmup",
    "get_cosine_schedule_with_warmup",
    "get_cosine_with_hard_restarts_schedule_with_warmup",
    "get_polynomial_decay_schedule_with_warmup",
    "get_scheduler",
    "SCHEDULER_NAMES",
]


# --------------------------------------------------------------------------------------------------
# AdamW
# --------------------------------------------------------------------------------------------------


class AdamW(torch.optim.Optimizer):
    """Adam with decoupled weight decay (Loshchilov & Hutter), per parameter group.

    For every parameter ``p`` with gradient ``g`` at step ``t``::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p = p * (1 - lr * weight_decay)                        # decoupled decay, before the update
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    With ``correct_bias=True`` (the default) ``m_hat = m / (1 - beta1**t)`` and
    ``v_hat = v / (1 - beta2**t)``; the step then runs on torch's own AdamW kernels and matches
    ``torch.optim.AdamW``. ``foreach``/``fused`` pick the kernel; when both are ``None`` the fused
    kernel is used when the parameters are all on the CPU (about 8x faster than torch's default per-tensor loop
    there) or all on CUDA, and torch's default elsewhere.
    With ``correct_bias=False``, ``m_hat = m`` and ``v_hat = v``: the original BERT optimizer
    (google-research/bert ``AdamWeightDecayOptimizer``), where decay uses the pre-update weight.

    The defaults follow BERT (``eps=1e-6``, no decay); pass ``weight_decay`` per group through
    :func:`get_parameter_groups` to skip biases and normalization weights.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        correct_bias: bool = True,
        foreach: bool | None = None,
        fused: bool | None = None,
    ):
        if not lr >= 0.0:
            raise ValueError(f"AdamW: learning rate must be >= 0, got lr={lr}.")
        if len(betas) != 2 or not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"AdamW: betas must be two numbers in [0, 1), got betas={betas}.")
        if not eps >= 0.0:
            raise ValueError(f"AdamW: eps must be >= 0, got eps={eps}.")
        if not weight_decay >= 0.0:
            raise ValueError(f"AdamW: weight_decay must be >= 0, got weight_decay={weight_decay}.")
        if foreach and fused:
            raise ValueError("AdamW: pass foreach=True or fused=True, not both (fused is usually faster on GPU).")
        if fused and not correct_bias:
            raise ValueError("AdamW: fused=True needs correct_bias=True (the fused kernel always corrects the bias).")
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            correct_bias=correct_bias,
            foreach=foreach,
            fused=fused,
        )
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("correct_bias", True)
            group.setdefault("foreach", None)
            group.setdefault("fused", None)

    def _gather(self, group: dict) -> tuple[list, list, list, list, list]:
        """Parameters with a gradient in ``group`` and their state, created on first use."""
        params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
        for param in group["params"]:
            if param.grad is None:
                continue
            if param.grad.is_sparse:
                raise RuntimeError("AdamW does not support sparse gradients; use torch.optim.SparseAdam for those.")
            state = self.state[param]
            if not state:
                # torch's convention: the step counter lives on the CPU unless the fused kernel runs.
                step_device = param.device if _runs_fused(group, [param]) else "cpu"
                state["step"] = torch.zeros((), dtype=torch.float32, device=step_device)
                state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            params.append(param)
            grads.append(param.grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        return params, grads, exp_avgs, exp_avg_sqs, steps

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, steps = self._gather(group)
            if not params:
                continue
            beta1, beta2 = group["betas"]
            if group["correct_bias"]:
                fused = _runs_fused(group, params)
                _torch_adamw_functional(
                    params, grads, exp_avgs, exp_avg_sqs, [], steps,
                    foreach=group["foreach"] if not fused else None, fused=fused or None,
                    amsgrad=False, beta1=beta1, beta2=beta2, lr=group["lr"],
                    weight_decay=group["weight_decay"], eps=group["eps"], maximize=False,
                )  # fmt: skip
            else:
                _bert_adam_update(
                    params, grads, exp_avgs, exp_avg_sqs, steps,
                    beta1=beta1, beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"], eps=group["eps"],
                )  # fmt: skip
        return loss


def _runs_fused(group: dict, params: list[torch.Tensor]) -> bool:
    """Whether ``group``'s update runs torch's fused kernel: when asked, or by default (neither foreach nor fused
    set) for floating-point parameters all on the CPU (about 8x faster than the per-tensor loop) or all on CUDA
    (one kernel launch for all parameters)."""
    if group["fused"] is not None or group["foreach"] is not None:
        return bool(group["fused"])
    devices = {p.device.type for p in params}
    return len(devices) == 1 and devices <= {"cpu", "cuda"} and all(p.is_floating_point() for p in params)


def _bert_adam_update(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    exp_avgs: list[torch.Tensor],
    exp_avg_sqs: list[torch.Tensor],
    steps: list[torch.Tensor],
    *,
    beta1: float,
    beta2: float,
    lr: float,
    weight_decay: float,
    eps: float,
) -> None:
    """The Adam update without bias correction (original BERT), in place, one tensor at a time."""
    for param, grad, exp_avg, exp_avg_sq, step in zip(params, grads, exp_avgs, exp_avg_sqs, steps):
        step += 1
        exp_avg.lerp_(grad, 1.0 - beta1)  # m = beta1 * m + (1 - beta1) * g
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)  # v = beta2 * v + (1 - beta2) * g^2
        if weight_decay != 0.0:
            param.mul_(1.0 - lr * weight_decay)
        denom = exp_avg_sq.sqrt().add_(eps)
        param.addcdiv_(exp_avg, denom, value=-lr)


def get_parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Split the trainable parameters of ``model`` into a decayed and a non-decayed group.

    The rule: a parameter with fewer than two dimensions (every bias, every LayerNorm /
    normalization weight and bias) gets no weight decay; matrices and embeddings get
    ``weight_decay``. Frozen parameters (``requires_grad=False``) are left out, and so is a group
    that would be empty. Each group also carries the parameter names under ``"names"`` (ignored
    by the optimizer) so the split can be inspected.
    """
    if not weight_decay >= 0.0:
        raise ValueError(f"get_parameter_groups: weight_decay must be >= 0, got {weight_decay}.")
    decay, no_decay = {"params": [], "names": []}, {"params": [], "names": []}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        target = decay if param.ndim >= 2 else no_decay
        target["params"].append(param)
        target["names"].append(name)
    decay["weight_decay"] = weight_decay
    no_decay["weight_decay"] = 0.0
    groups = [group for group in (decay, no_decay) if group["params"]]
    if not groups:
        raise ValueError(
            "get_parameter_groups: the model has no trainable parameters (all have requires_grad=False)."
        )
    return groups


# --------------------------------------------------------------------------------------------------
# Schedules: multipliers of the initial learning rate, as a function of the optimizer step
# --------------------------------------------------------------------------------------------------


def _warmup_factor(step: int, num_warmup_steps: int) -> float:
    return step / max(1, num_warmup_steps)


def _constant_lambda(step: int) -> float:
    return 1.0


def _constant_with_warmup_lambda(step: int, *, num_warmup_steps: int) -> float:
    if step < num_warmup_steps:
        return _warmup_factor(step, num_warmup_steps)
    return 1.0


def _linear_lambda(step: int, *, num_warmup_steps: int, num_training_steps: int) -> float:
    if step < num_warmup_steps:
        return _warmup_factor(step, num_warmup_steps)
    remaining = num_training_steps - step
    return max(0.0, remaining / max(1, num_training_steps - num_warmup_steps))


def _decay_progress(step: int, num_warmup_steps: int, num_training_steps: int) -> float:
    """Fraction of the post-warm-up steps done: 0 at the end of warm-up, 1 at the last step."""
    return (step - num_warmup_steps) / max(1, num_training_steps - num_warmup_steps)


def _cosine_lambda(step: int, *, num_warmup_steps: int, num_training_steps: int, num_cycles: float) -> float:
    if step < num_warmup_steps:
        return _warmup_factor(step, num_warmup_steps)
    progress = _decay_progress(step, num_warmup_steps, num_training_steps)
    return max(0.0, 0.5 * (1.0 + math.cos(2.0 * math.pi * num_cycles * progress)))


def _cosine_hard_restarts_lambda(
    step: int, *, num_warmup_steps: int, num_training_steps: int, num_cycles: int
) -> float:
    if step < num_warmup_steps:
        return _warmup_factor(step, num_warmup_steps)
    progress = _decay_progress(step, num_warmup_steps, num_training_steps)
    if progress >= 1.0:
        return 0.0
    cycle_position = (num_cycles * progress) % 1.0  # 0 -> 1 within each cycle, then back to 0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * cycle_position)))


def _polynomial_lambda(
    step: int, *, num_warmup_steps: int, num_training_steps: int, lr_init: float, lr_end: float, power: float
) -> float:
    if step < num_warmup_steps:
        return _warmup_factor(step, num_warmup_steps)
    if step > num_training_steps:
        return lr_end / lr_init
    remaining = 1.0 - _decay_progress(step, num_warmup_steps, num_training_steps)
    return ((lr_init - lr_end) * remaining**power + lr_end) / lr_init


def _check_steps(function: str, **steps: float) -> None:
    """Step counts are numbers >= 0; a float is fine (v3's run_squad passes ``len(loader) * num_train_epochs``)."""
    for name, value in steps.items():
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
            raise ValueError(f"{function}: {name} must be a number of steps >= 0, got {value!r}.")


def get_constant_schedule(optimizer: torch.optim.Optimizer, last_epoch: int = -1) -> LambdaLR:
    """Keep the learning rate at its initial value."""
    return LambdaLR(optimizer, _constant_lambda, last_epoch=last_epoch)


def get_constant_schedule_with_warmup(
    optimizer: torch.optim.Optimizer, num_warmup_steps: int, last_epoch: int = -1
) -> LambdaLR:
    """Rise linearly from 0 to the initial learning rate over ``num_warmup_steps``, then stay there."""
    _check_steps("get_constant_schedule_with_warmup", num_warmup_steps=num_warmup_steps)
    function = functools.partial(_constant_with_warmup_lambda, num_warmup_steps=num_warmup_steps)
    return LambdaLR(optimizer, function, last_epoch=last_epoch)


def get_linear_schedule_with_warmup(
    optimizer: torch.optim.Optimizer, num_warmup_steps: int, num_training_steps: int, last_epoch: int = -1
) -> LambdaLR:
    """Rise linearly from 0 over the warm-up, then fall linearly to 0 at ``num_training_steps``."""
    _check_steps(
        "get_linear_schedule_with_warmup", num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps
    )
    function = functools.partial(
        _linear_lambda, num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps
    )
    return LambdaLR(optimizer, function, last_epoch=last_epoch)


def get_cosine_schedule_with_warmup(
    optimizer: torch.optim.Optimizer,
    num_warmup_steps: int,
    num_training_steps: int,
    num_cycles: float = 0.5,
    last_epoch: int = -1,
) -> LambdaLR:
    """Linear warm-up, then a cosine from the initial rate; ``num_cycles=0.5`` ends at 0 (half a wave)."""
    _check_steps(
        "get_cosine_schedule_with_warmup", num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps
    )
    function = functools.partial(
        _cosine_lambda,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
        num_cycles=num_cycles,
    )
    return LambdaLR(optimizer, function, last_epoch=last_epoch)


def get_cosine_with_hard_restarts_schedule_with_warmup(
    optimizer: torch.optim.Optimizer,
    num_warmup_steps: int,
    num_training_steps: int,
    num_cycles: int = 1,
    last_epoch: int = -1,
) -> LambdaLR:
    """Linear warm-up, then ``num_cycles`` cosine decays to 0, each restarting at the initial rate."""
    _check_steps(
        "get_cosine_with_hard_restarts_schedule_with_warmup",
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
    )
    function = functools.partial(
        _cosine_hard_restarts_lambda,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
        num_cycles=num_cycles,
    )
    return LambdaLR(optimizer, function, last_epoch=last_epoch)


def get_polynomial_decay_schedule_with_warmup(
    optimizer: torch.optim.Optimizer,
    num_warmup_steps: int,
    num_training_steps: int,
    lr_end: float = 1e-7,
    power: float = 1.0,
    last_epoch: int = -1,
) -> LambdaLR:
    """Linear warm-up, then ``(lr - lr_end) * (1 - progress) ** power + lr_end``; ``lr_end`` afterwards.

    ``lr`` is the optimizer's default learning rate (``optimizer.defaults["lr"]``).
    """
    _check_steps(
        "get_polynomial_decay_schedule_with_warmup",
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
    )
    lr_init = optimizer.defaults["lr"]
    if not lr_init > lr_end:
        raise ValueError(
            f"get_polynomial_decay_schedule_with_warmup: lr_end ({lr_end}) must be smaller than the "
            f"optimizer's learning rate ({lr_init}); lower lr_end or raise lr."
        )
    function = functools.partial(
        _polynomial_lambda,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
        lr_init=lr_init,
        lr_end=lr_end,
        power=power,
    )
    return LambdaLR(optimizer, function, last_epoch=last_epoch)


# name -> (factory, needs num_warmup_steps, needs num_training_steps)
_SCHEDULES: dict[str, tuple[Callable[..., LambdaLR], bool, bool]] = {
    "linear": (get_linear_schedule_with_warmup, True, True),
    "cosine": (get_cosine_schedule_with_warmup, True, True),
    "cosine_with_restarts": (get_cosine_with_hard_restarts_schedule_with_warmup, True, True),
    "polynomial": (get_polynomial_decay_schedule_with_warmup, True, True),
    "constant": (get_constant_schedule, False, False),
    "constant_with_warmup": (get_constant_schedule_with_warmup, True, False),
}
SCHEDULER_NAMES: tuple[str, ...] = tuple(_SCHEDULES)


def get_scheduler(
    name: str,
    optimizer: torch.optim.Optimizer,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    **kwargs,
) -> LambdaLR:
    """Build a schedule by name (one of :data:`SCHEDULER_NAMES`); extra keywords go to its factory."""
    key = getattr(name, "value", name)  # accept enum members whose value is the name
    if key not in _SCHEDULES:
        raise ValueError(f"Unknown scheduler name {name!r}; choose one of: {', '.join(SCHEDULER_NAMES)}.")
    factory, needs_warmup, needs_total = _SCHEDULES[key]
    arguments = dict(kwargs)
    if needs_warmup:
        if num_warmup_steps is None:
            raise ValueError(f"Scheduler {key!r} needs num_warmup_steps; pass num_warmup_steps=<int> (0 for none).")
        arguments["num_warmup_steps"] = num_warmup_steps
    if needs_total:
        if num_training_steps is None:
            raise ValueError(
                f"Scheduler {key!r} needs num_training_steps; pass the total number of optimizer steps."
            )
        arguments["num_training_steps"] = num_training_steps
    return factory(optimizer, **arguments)
