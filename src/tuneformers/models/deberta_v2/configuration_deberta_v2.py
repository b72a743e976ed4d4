"""DebertaV2Config: the hyper-parameters of a DeBERTa-v2 / DeBERTa-v3 model, as in an HF config.json. No torch."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ...activations import check_activation
from ...configuration_utils import PretrainedConfig
from ...typed_dataclass import ProblemList

POSITION_ATTENTION_TYPES = ("c2p", "p2c")


@dataclasses.dataclass(eq=False)
class DebertaV2Config(PretrainedConfig):
    """DeBERTa-v2 architecture (DeBERTa-v3 checkpoints use it too): disentangled attention, where content and
    relative position attend to each other through their own projections. Defaults are HF's."""

    model_type: ClassVar[str] = "deberta-v2"

    vocab_size: int = 128100
    hidden_size: int = 1536
    num_hidden_layers: int = 24
    num_attention_heads: int = 24
    intermediate_size: int = 6144
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 0
    """0: no token type embeddings (DeBERTa-v3)."""
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-7
    pad_token_id: int | None = 0
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    embedding_size: int | None = None
    """Width of the word embeddings when it differs from hidden_size (then projected by embed_proj)."""
    position_biased_input: bool = True
    """Add absolute position embeddings to the word embeddings (DeBERTa-v3: False)."""
    relative_attention: bool = False
    max_relative_positions: int = -1
    """Relative distances span [-k, k]; -1 takes max_position_embeddings."""
    position_buckets: int = -1
    """> 0: distances beyond position_buckets / 2 share log-spaced buckets (DeBERTa-v3: 256)."""
    pos_att_type: list[str] | None = None
    """Which position terms enter attention: "c2p" (content to position), "p2c" (position to content)."""
    share_att_key: bool = False
    """Project relative embeddings with the content query/key projections instead of their own."""
    norm_rel_ebd: str = "none"
    """"layer_norm": apply a LayerNorm to the relative embeddings."""
    pooler_hidden_size: int | None = None
    pooler_dropout: float = 0.0
    pooler_hidden_act: str = "gelu"
    cls_dropout: float | None = None
    """Dropout before the classifier; None uses hidden_dropout_prob."""
    legacy: bool = True
    """Masked-LM head layout: True is cls.predictions (BERT-like), False lm_predictions.lm_head."""
    conv_kernel_size: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.pos_att_type, str):  # older configs write "p2c|c2p"
            self.pos_att_type = [part.strip() for part in self.pos_att_type.lower().split("|") if part.strip()]
        super().__post_init__()
        if self.pooler_hidden_size is None:
            self.pooler_hidden_size = self.hidden_size
        problems = ProblemList("DebertaV2Config")
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings"):
            problems.check(getattr(self, name) >= 1, f"{name} must be a positive integer, got {getattr(self, name)}.")
        problems.check(self.hidden_size % max(self.num_attention_heads, 1) == 0,
                       f"hidden_size={self.hidden_size} is not a multiple of num_attention_heads={self.num_attention_heads}.")
        for kind in self.pos_att_type or []:
            problems.choice("pos_att_type entry", kind, POSITION_ATTENTION_TYPES)
        problems.choice("norm_rel_ebd", self.norm_rel_ebd, ("none", "layer_norm"))
        problems.check(self.pooler_hidden_size == self.hidden_size,
                       f"pooler_hidden_size={self.pooler_hidden_size} must equal hidden_size={self.hidden_size}.")
        problems.check(self.conv_kernel_size == 0,
                       f"conv_kernel_size={self.conv_kernel_size}: the convolution after the first layer (DeBERTa-v2 "
                       "xlarge / xxlarge) is not supported; DeBERTa-v3 checkpoints have none.")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "pooler_dropout", "cls_dropout"):
            value = getattr(self, name)
            problems.check(value is None or 0.0 <= value < 1.0, f"{name} must be in [0, 1), got {value}.")
        problems.raise_if_any()
        check_activation(self.hidden_act)
        check_activation(self.pooler_hidden_act, "pooler_hidden_act")

    def to_dict(self) -> dict:
        """HF reads these with getattr(config, name, default): a written null would override the default."""
        output = super().to_dict()
        for name in ("embedding_size", "cls_dropout"):
            if output.get(name) is None:
                output.pop(name, None)
        return output

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def word_embedding_size(self) -> int:
        return self.embedding_size or self.hidden_size

    @property
    def relative_span(self) -> int:
        """How many relative-embedding rows each direction has (half the rel_embeddings table)."""
        if self.position_buckets > 0:
            return self.position_buckets
        return self.max_relative_positions if self.max_relative_positions >= 1 else self.max_position_embeddings
