"""The activation functions a config may name (``hidden_act``), in one table for PyTorch and TensorFlow.

No framework is imported here at module level: configs validate against ``ACTIVATIONS`` without torch,
and each side builds its function with ``torch_activation`` / ``tf_activation``.
"""

from __future__ import annotations

from typing import Any

ACTIVATIONS: dict[str, str] = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu_fast": "gelu_tanh",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
    "tanh": "tanh",
}
"""Config name -> the function it means. The three tanh approximations of GELU agree to float precision."""


def check_activation(name: str, field: str = "hidden_act") -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"{field}={name!r} is not supported; use one of {tuple(ACTIVATIONS)}.")


def torch_activation(name: str) -> Any:
    """A torch ``nn.Module`` computing the activation ``name``."""
    from torch import nn

    check_activation(name)
    return {
        "gelu": lambda: nn.GELU(),
        "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
        "relu": nn.ReLU,
        "silu": nn.SiLU,
        "tanh": nn.Tanh,
    }[ACTIVATIONS[name]]()


def tf_activation(name: str) -> Any:
    """A TensorFlow function computing the activation ``name``."""
    import tensorflow as tf

    check_activation(name)
    return {
        "gelu": lambda x: tf.nn.gelu(x, approximate=False),
        "gelu_tanh": lambda x: tf.nn.gelu(x, approximate=True),
        "relu": tf.nn.relu,
        "silu": tf.nn.silu,
        "tanh": tf.math.tanh,
    }[ACTIVATIONS[name]]
