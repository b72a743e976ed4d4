"""ModernBertConfig: the hyper-parameters of a ModernBERT model, as in an HF config.json. No torch.

Reads both spellings of the layer pattern and the rotary bases: ``global_attn_every_n_layers`` /
``global_rope_theta`` / ``local_rope_theta`` (HF 4.x files) and ``layer_types`` / ``rope_parameters`` (HF 5.x),
and writes both, so either version loads what we save.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from ...activations import check_activation
from ...configuration_utils import PretrainedConfig
from ...typed_dataclass import ProblemList

LAYER_TYPES = ("full_attention", "sliding_attention")


@dataclasses.dataclass(eq=False)
class ModernBertConfig(PretrainedConfig):
    """ModernBERT architecture: pre-norm layers without biases, rotary positions, GeGLU MLPs, and attention that
    is global every ``global_attn_every_n_layers`` layers and a sliding window elsewhere. Defaults are
    answerdotai/ModernBERT-base."""

    model_type: ClassVar[str] = "modernbert"

    vocab_size: int = 50368
    hidden_size: int = 768
    intermediate_size: int = 1152
    num_hidden_layers: int = 22
    num_attention_heads: int = 12
    hidden_activation: str = "gelu"
    max_position_embeddings: int = 8192
    initializer_range: float = 0.02
    initializer_cutoff_factor: float = 2.0
    norm_eps: float = 1e-5
    norm_bias: bool = False
    pad_token_id: int | None = 50283
    eos_token_id: int | None = 50282
    bos_token_id: int | None = 50281
    cls_token_id: int | None = 50281
    sep_token_id: int | None = 50282
    attention_bias: bool = False
    attention_dropout: float = 0.0
    global_attn_every_n_layers: int = 3
    layer_types: list[str] | None = None
    """Per layer: "full_attention" or "sliding_attention"; derived from global_attn_every_n_layers when None."""
    global_rope_theta: float = 160_000.0
    local_rope_theta: float = 10_000.0
    rope_parameters: dict[str, Any] | None = None
    """HF 5.x spelling of the rotary bases ({layer type: {"rope_type": "default", "rope_theta": ...}}); wins when set."""
    local_attention: int = 128
    """Sliding-window width: a token sees the tokens within local_attention // 2 positions."""
    embedding_dropout: float = 0.0
    mlp_bias: bool = False
    mlp_dropout: float = 0.0
    decoder_bias: bool = True
    classifier_pooling: str = "cls"
    """"cls" (first token) or "mean" (over real tokens) for sequence classification and multiple choice."""
    classifier_dropout: float = 0.0
    classifier_bias: bool = False
    classifier_activation: str = "gelu"
    sparse_prediction: bool = False
    """Masked LM: score only the positions with a label (logits are then n_labelled V)."""
    sparse_pred_ignore_index: int = -100

    def __post_init__(self) -> None:
        super().__post_init__()
        problems = ProblemList("ModernBertConfig")
        for name in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                     "max_position_embeddings", "global_attn_every_n_layers", "local_attention"):
            problems.check(getattr(self, name) >= 1, f"{name} must be a positive integer, got {getattr(self, name)}.")
        problems.check(self.hidden_size % max(self.num_attention_heads, 1) == 0,
                       f"hidden_size={self.hidden_size} is not a multiple of num_attention_heads={self.num_attention_heads}.")
        problems.choice("classifier_pooling", self.classifier_pooling, ("cls", "mean"))
        if self.layer_types is None:
            self.layer_types = ["sliding_attention" if index % max(self.global_attn_every_n_layers, 1) else
                                "full_attention" for index in range(self.num_hidden_layers)]
        problems.check(len(self.layer_types) == self.num_hidden_layers,
                       f"layer_types has {len(self.layer_types)} entries for {self.num_hidden_layers} layers.")
        for kind in self.layer_types:
            problems.choice("layer_types entry", kind, LAYER_TYPES)
        self._read_rope_parameters(problems)
        for name in ("attention_dropout", "embedding_dropout", "mlp_dropout", "classifier_dropout"):
            problems.check(0.0 <= getattr(self, name) < 1.0, f"{name} must be in [0, 1), got {getattr(self, name)}.")
        problems.raise_if_any()
        check_activation(self.hidden_activation, "hidden_activation")
        check_activation(self.classifier_activation, "classifier_activation")

    def _read_rope_parameters(self, problems: ProblemList) -> None:
        thetas = {"full_attention": "global_rope_theta", "sliding_attention": "local_rope_theta"}
        for kind, field in thetas.items():
            parameters = (self.rope_parameters or {}).get(kind) or {}
            problems.check(parameters.get("rope_type", "default") == "default",
                           f"rope_parameters[{kind!r}] has rope_type={parameters.get('rope_type')!r}; only the "
                           "default rotary encoding is supported.")
            if "rope_theta" in parameters:
                setattr(self, field, float(parameters["rope_theta"]))
        self.rope_parameters = {kind: {"rope_type": "default", "rope_theta": getattr(self, field)}
                                for kind, field in thetas.items()}

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def rope_theta(self, layer_type: str) -> float:
        return self.global_rope_theta if layer_type == "full_attention" else self.local_rope_theta
