"""Keras optimizer and learning-rate schedule for the TF models, matching ``optimization.py``.

- ``AdamWeightDecay``: Adam with decoupled weight decay, step for step the PyTorch ``AdamW``. The no-decay
  rule is the PyTorch side's: a variable with fewer than two dimensions (every bias, every LayerNorm
  gamma/beta) is not decayed; kernels and embedding tables are: ``w <- w - lr * weight_decay_rate * w``
  before each Adam step.
- ``WarmUp``: linear (``power=1``) warm-up from 0 to the initial rate over ``warmup_steps``, then a decay schedule.
- ``create_optimizer``: warm-up then polynomial (default linear) decay to ``init_lr * min_lr_ratio`` at
  ``num_train_steps``: the same multipliers as ``get_linear_schedule_with_warmup``.
"""

from __future__ import annotations

from typing import Any

from .utils import require

tf = require("tensorflow", "tf", "TensorFlow optimizers")
keras = require("keras", "tf", "TensorFlow optimizers")


class WarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """``initial_learning_rate * (step / warmup_steps) ** power`` during warm-up, then ``decay_schedule_fn(step - warmup_steps)``."""

    def __init__(self, initial_learning_rate: float, decay_schedule_fn, warmup_steps: int, power: float = 1.0,
                 name: str | None = None) -> None:
        super().__init__()
        if warmup_steps < 0:
            raise ValueError(f"WarmUp: warmup_steps must be >= 0, got {warmup_steps}.")
        self.initial_learning_rate = initial_learning_rate
        self.decay_schedule_fn = decay_schedule_fn
        self.warmup_steps = warmup_steps
        self.power = power
        self.name = name

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warmup_steps = tf.cast(max(self.warmup_steps, 1), tf.float32)
        warmup_rate = self.initial_learning_rate * tf.pow(step / warmup_steps, self.power)
        return tf.cond(
            step < self.warmup_steps,
            lambda: warmup_rate,
            lambda: tf.cast(self.decay_schedule_fn(step - self.warmup_steps), tf.float32),
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_schedule_fn": keras.optimizers.schedules.serialize(self.decay_schedule_fn),
            "warmup_steps": self.warmup_steps,
            "power": self.power,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WarmUp:
        config = dict(config)
        config["decay_schedule_fn"] = keras.optimizers.schedules.deserialize(config["decay_schedule_fn"])
        return cls(**config)


class AdamWeightDecay(keras.optimizers.Adam):
    """Adam with decoupled weight decay on variables of two or more dimensions (see the module docstring).

    ``weight_decay_rate=0`` is plain Adam. Other keyword arguments (``clipnorm``, ``global_clipnorm``,
    ``gradient_accumulation_steps``, ...) are Keras optimizer arguments.
    """

    def __init__(self, learning_rate=1e-3, weight_decay_rate: float = 0.0, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, name: str = "AdamWeightDecay", **kwargs: Any) -> None:
        if weight_decay_rate < 0:
            raise ValueError(f"AdamWeightDecay: weight_decay_rate must be >= 0, got {weight_decay_rate}.")
        if "weight_decay" in kwargs:
            raise TypeError("AdamWeightDecay takes weight_decay_rate=..., not weight_decay=....")
        if kwargs.get("amsgrad"):
            raise TypeError("AdamWeightDecay does not implement amsgrad; use keras.optimizers.AdamW(amsgrad=True).")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         weight_decay=weight_decay_rate or None, name=name, **kwargs)
        self.weight_decay_rate = weight_decay_rate

    def _use_weight_decay(self, variable) -> bool:
        return len(variable.shape) >= 2

    def update_step(self, gradient, variable, learning_rate):
        """One Adam step written as torch.optim.AdamW writes it: ``eps`` is added after the bias correction
        (Keras adds it before, which makes it ~30x larger on the first steps), and the corrections are
        formed in float64 (``1 - 0.999`` loses 1e-5 relative precision in float32)."""
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, tf.float64)
        bias_correction1 = tf.cast(1.0 - tf.pow(tf.constant(self.beta_1, tf.float64), step), dtype)
        bias_correction2_sqrt = tf.cast(tf.sqrt(1.0 - tf.pow(tf.constant(self.beta_2, tf.float64), step)), dtype)
        gradient = tf.cast(gradient, dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, (gradient - m) * (1 - self.beta_1))
        self.assign_add(v, (tf.square(gradient) - v) * (1 - self.beta_2))
        denominator = tf.sqrt(v) / bias_correction2_sqrt + self.epsilon
        self.assign_sub(variable, tf.cast(learning_rate, dtype) / bias_correction1 * m / denominator)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("weight_decay", None)
        config["weight_decay_rate"] = self.weight_decay_rate
        return config


def create_optimizer(
    init_lr: float,
    num_train_steps: int,
    num_warmup_steps: int,
    min_lr_ratio: float = 0.0,
    adam_beta1: float = 0.9,
    adam_beta2: float = 0.999,
    adam_epsilon: float = 1e-8,
    weight_decay_rate: float = 0.0,
    power: float = 1.0,
    **optimizer_kwargs: Any,
) -> tuple[AdamWeightDecay, WarmUp]:
    """Return ``(optimizer, schedule)``: AdamWeightDecay driven by warm-up + polynomial decay.

    ``optimizer_kwargs`` go to the Keras optimizer (e.g. ``global_clipnorm=1.0``).
    """
    if num_train_steps <= 0:
        raise ValueError(f"create_optimizer: num_train_steps must be positive, got {num_train_steps}.")
    if not 0 <= num_warmup_steps <= num_train_steps:
        raise ValueError(
            f"create_optimizer: num_warmup_steps={num_warmup_steps} must be in [0, num_train_steps={num_train_steps}]."
        )
    decay = keras.optimizers.schedules.PolynomialDecay(
        initial_learning_rate=init_lr,
        decay_steps=max(num_train_steps - num_warmup_steps, 1),
        end_learning_rate=init_lr * min_lr_ratio,
        power=power,
    )
    schedule = WarmUp(init_lr, decay, num_warmup_steps)
    optimizer = AdamWeightDecay(
        learning_rate=schedule, weight_decay_rate=weight_decay_rate, beta_1=adam_beta1, beta_2=adam_beta2,
        epsilon=adam_epsilon, **optimizer_kwargs,
    )
    return optimizer, schedule
