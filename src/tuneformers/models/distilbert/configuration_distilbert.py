"""DistilBertConfig: a DistilBERT model's hyper-parameters, with HF's field names (dim, n_layers, ...). No torch."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from ...activations import check_activation
from ...configuration_utils import PretrainedConfig


@dataclasses.dataclass(eq=False)
class DistilBertConfig(PretrainedConfig):
    """DistilBERT architecture. Defaults are distilbert-base-uncased."""

    model_type: ClassVar[str] = "distilbert"

    vocab_size: int = 30522
    max_position_embeddings: int = 512
    sinusoidal_pos_embds: bool = False
    """Fixed sine/cosine position embeddings (not trained) instead of learned ones."""
    n_layers: int = 6
    n_heads: int = 12
    dim: int = 768
    hidden_dim: int = 3072
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation: str = "gelu"
    initializer_range: float = 0.02
    qa_dropout: float = 0.1
    seq_classif_dropout: float = 0.2
    pad_token_id: int | None = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("vocab_size", "max_position_embeddings", "n_layers", "n_heads", "dim", "hidden_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"DistilBertConfig.{name} must be a positive integer, got {getattr(self, name)}.")
        if self.dim % self.n_heads:
            raise ValueError(f"dim={self.dim} is not a multiple of n_heads={self.n_heads}; "
                             "each head gets dim / n_heads dimensions.")
        check_activation(self.activation)
        for name in ("dropout", "attention_dropout", "qa_dropout", "seq_classif_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"DistilBertConfig.{name} must be in [0, 1), got {getattr(self, name)}.")
        if self.pad_token_id is not None and not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(f"pad_token_id={self.pad_token_id} is outside the vocabulary (size {self.vocab_size}).")

    # The names other families use (HF's attribute_map), so shared code reads any config the same way.
    @property
    def hidden_size(self) -> int:
        return self.dim

    @property
    def num_attention_heads(self) -> int:
        return self.n_heads

    @property
    def num_hidden_layers(self) -> int:
        return self.n_layers

    @property
    def head_size(self) -> int:
        return self.dim // self.n_heads


def sinusoidal_position_table(rows: int, dim: int) -> np.ndarray:
    """rows D float32 table for ``sinusoidal_pos_embds``: sin at even columns, cos at odd ones, wavelengths 2 pi to
    10000 * 2 pi (shared by the PyTorch and TF models)."""
    angles = np.arange(rows)[:, None] / np.power(10000.0, 2 * (np.arange(dim) // 2) / dim)  # rows D
    return np.where(np.arange(dim) % 2 == 0, np.sin(angles), np.cos(angles)).astype(np.float32)
