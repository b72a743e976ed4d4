"""BERT in PyTorch: embeddings, encoder, pooler, then thin task heads.

Module and parameter names follow HF checkpoints one for one, so state dicts load without renaming.
Shapes: B batch, T tokens, N heads, H head size, D hidden (= N * H), I intermediate, V vocab, C choices,
n real (non-padding) tokens in the batch.

Inside the encoder, hidden states are a flat ``n D`` matrix of the real tokens only: padding never
goes through the dense layers, which hold nearly all of the compute. Only attention sees the padded
``B N T H`` layout. Outputs are padded back to ``B T D``, with zeros at padding positions.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from ...modeling_outputs import (
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from ...modeling_utils import PreTrainedModel
from .configuration_bert import BertConfig

ACTIVATIONS = {
    "gelu": nn.GELU,
    "gelu_new": lambda: nn.GELU(approximate="tanh"),
    "gelu_pytorch_tanh": lambda: nn.GELU(approximate="tanh"),
    "gelu_fast": lambda: nn.GELU(approximate="tanh"),
    "relu": nn.ReLU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "tanh": nn.Tanh,
}


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        input_ids: torch.Tensor | None,
        token_type_ids: torch.Tensor | None,
        position_ids: torch.Tensor | None,
        inputs_embeds: torch.Tensor | None,
    ) -> torch.Tensor:
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)  # B T D
        B, T, _ = inputs_embeds.shape
        if T > self.position_embeddings.num_embeddings:
            raise ValueError(
                f"The input has {T} tokens but this model has position embeddings for only "
                f"{self.position_embeddings.num_embeddings}. Tokenize with truncation=True, "
                f"max_length={self.position_embeddings.num_embeddings}."
            )
        if position_ids is None:
            position_ids = torch.arange(T, device=inputs_embeds.device).unsqueeze(0)  # 1 T
        if token_type_ids is None:
            token_type_ids = torch.zeros((B, T), dtype=torch.long, device=inputs_embeds.device)
        embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


@dataclasses.dataclass
class TokenLayout:
    """Where the n real tokens of a padded B T batch sit (``index``: their flat positions; None: no padding)."""

    batch_size: int
    seq_len: int
    index: torch.Tensor | None

    @classmethod
    def from_mask(cls, attention_mask: torch.Tensor | None, batch_size: int, seq_len: int) -> TokenLayout:
        if attention_mask is None or bool(attention_mask.all()):
            return cls(batch_size, seq_len, None)
        return cls(batch_size, seq_len, attention_mask.reshape(-1).nonzero().squeeze(-1))

    def unpad(self, padded: torch.Tensor) -> torch.Tensor:  # B T F -> n F
        flat = padded.reshape(self.batch_size * self.seq_len, *padded.shape[2:])
        return flat if self.index is None else flat.index_select(0, self.index)

    def pad(self, tokens: torch.Tensor) -> torch.Tensor:  # n F -> B T F (zeros at padding)
        if self.index is not None:
            flat = tokens.new_zeros(self.batch_size * self.seq_len, *tokens.shape[1:])
            tokens = flat.index_copy(0, self.index, tokens)
        return tokens.view(self.batch_size, self.seq_len, *tokens.shape[1:])


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_size = config.head_size
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(
        self, hidden_states: torch.Tensor, layout: TokenLayout, attention_bias: torch.Tensor | None,
        output_attentions: bool,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        B, T, N, H = layout.batch_size, layout.seq_len, self.num_heads, self.head_size
        q = layout.pad(self.query(hidden_states)).view(B, T, N, H).transpose(1, 2)  # B N T H
        k = layout.pad(self.key(hidden_states)).view(B, T, N, H).transpose(1, 2)  # B N T H
        v = layout.pad(self.value(hidden_states)).view(B, T, N, H).transpose(1, 2)  # B N T H
        if output_attentions:
            scores = q @ k.transpose(-1, -2) / math.sqrt(H)  # B N T T
            if attention_bias is not None:
                scores = scores + attention_bias
            probs = scores.softmax(dim=-1)  # B N T T
            context = self.dropout(probs) @ v  # B N T H
        else:
            probs = None
            dropout_p = self.dropout.p if self.training else 0.0
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_bias, dropout_p=dropout_p)
        return layout.unpad(context.transpose(1, 2).reshape(B, T, N * H)), probs  # n D


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states, layout, attention_bias, output_attentions):
        context, probs = self.self(hidden_states, layout, attention_bias, output_attentions)
        return self.output(context, hidden_states), probs


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = ACTIVATIONS[config.hidden_act]()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))  # n I


class BertOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states, layout, attention_bias, output_attentions):
        attention_output, probs = self.attention(hidden_states, layout, attention_bias, output_attentions)
        return self.output(self.intermediate(attention_output), attention_output), probs


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))
        self.gradient_checkpointing = False

    def forward(self, hidden_states, layout, attention_bias, output_attentions, output_hidden_states):
        all_hidden_states = [layout.pad(hidden_states)] if output_hidden_states else None
        all_attentions = [] if output_attentions else None
        for layer in self.layer:
            if self.gradient_checkpointing and self.training:
                hidden_states, probs = checkpoint(
                    layer, hidden_states, layout, attention_bias, output_attentions, use_reentrant=False
                )
            else:
                hidden_states, probs = layer(hidden_states, layout, attention_bias, output_attentions)  # n D
            if output_hidden_states:
                all_hidden_states.append(layout.pad(hidden_states))
            if output_attentions:
                all_attentions.append(probs)
        return (
            hidden_states,
            tuple(all_hidden_states) if output_hidden_states else None,
            tuple(all_attentions) if output_attentions else None,
        )


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))  # B D


class BertPreTrainedModel(PreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            module.weight.normal_(mean=0.0, std=std)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.normal_(mean=0.0, std=std)
            if module.padding_idx is not None:
                module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            module.weight.fill_(1.0)
            module.bias.zero_()
        elif isinstance(module, BertLMPredictionHead):
            module.bias.zero_()


def attention_bias_from_mask(attention_mask: torch.Tensor, layout: TokenLayout, dtype: torch.dtype) -> torch.Tensor | None:
    """B T mask of 1 (attend) / 0 (padding) -> B 1 1 T additive bias; None when nothing is masked."""
    if layout.index is None:
        return None  # lets scaled_dot_product_attention pick its fastest kernel
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class BertModel(BertPreTrainedModel):
    """The BERT encoder: token ids -> contextual hidden states (B T D) and a pooled first-token vector (B D)."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        return_dict: bool = True,
    ) -> BaseModelOutputWithPooling | tuple:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids or inputs_embeds.")
        if input_ids is not None and input_ids.dim() != 2:
            raise ValueError(
                f"input_ids must have shape (batch, tokens), got {tuple(input_ids.shape)}. "
                "For a single sequence, add a batch dimension: input_ids.unsqueeze(0)."
            )
        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)  # B T D
        layout = TokenLayout.from_mask(attention_mask, *embeddings.shape[:2])
        attention_bias = attention_bias_from_mask(attention_mask, layout, embeddings.dtype)
        tokens, hidden_states, attentions = self.encoder(
            layout.unpad(embeddings), layout, attention_bias, output_attentions, output_hidden_states
        )
        sequence_output = layout.pad(tokens)  # B T D
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        output = BaseModelOutputWithPooling(sequence_output, pooled_output, hidden_states, attentions)
        return output if return_dict else output.to_tuple()


class BertForSequenceClassification(BertPreTrainedModel):
    """Pooled output -> dropout -> Linear(D, num_labels). Loss from config.problem_type (inferred when None)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.problem_type = config.problem_type
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False,
                return_dict=True) -> SequenceClassifierOutput | tuple:
        outputs = self.bert(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                            output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(outputs.pooler_output))  # B num_labels
        loss = None if labels is None else sequence_classification_loss(logits, labels, self.problem_type)
        output = SequenceClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return output if return_dict else output.to_tuple()


def sequence_classification_loss(logits: torch.Tensor, labels: torch.Tensor, problem_type: str | None) -> torch.Tensor:
    num_labels = logits.shape[-1]
    if problem_type is None:
        if num_labels == 1:
            problem_type = "regression"
        elif labels.dtype in (torch.long, torch.int, torch.int16, torch.int8, torch.uint8):
            problem_type = "single_label_classification"
        else:
            problem_type = "multi_label_classification"
    if problem_type == "regression":
        return F.mse_loss(logits.squeeze(-1) if num_labels == 1 else logits,
                          labels.squeeze(-1).to(logits.dtype) if num_labels == 1 else labels.to(logits.dtype))
    if problem_type == "single_label_classification":
        if labels.is_floating_point():
            raise TypeError(
                f"single_label_classification needs integer class labels, got {labels.dtype}. "
                "Pass labels as torch.long, or set problem_type='regression' / 'multi_label_classification'."
            )
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    if labels.shape != logits.shape:
        raise ValueError(
            f"multi_label_classification needs labels shaped like the logits {tuple(logits.shape)} "
            f"(one 0/1 column per label), got {tuple(labels.shape)}."
        )
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


class BertForTokenClassification(BertPreTrainedModel):
    """Hidden states -> dropout -> Linear(D, num_labels) per token; labels of -100 are ignored."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False,
                return_dict=True) -> TokenClassifierOutput | tuple:
        outputs = self.bert(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                            output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(outputs.last_hidden_state))  # B T num_labels
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1), ignore_index=-100)
        output = TokenClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return output if return_dict else output.to_tuple()


class BertForQuestionAnswering(BertPreTrainedModel):
    """Hidden states -> Linear(D, 2): start and end logits of the answer span (padding positions get -inf)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, start_positions=None, end_positions=None, output_attentions=False,
                output_hidden_states=False, return_dict=True) -> QuestionAnsweringModelOutput | tuple:
        outputs = self.bert(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                            output_attentions, output_hidden_states)
        logits = self.qa_outputs(outputs.last_hidden_state)  # B T 2
        if attention_mask is not None:  # an answer never starts or ends in padding
            logits = logits.masked_fill(attention_mask.unsqueeze(-1) == 0, torch.finfo(logits.dtype).min)
        start_logits, end_logits = (part.squeeze(-1).contiguous() for part in logits.split(1, dim=-1))  # B T each
        loss = None
        if start_positions is not None and end_positions is not None:
            T = start_logits.shape[1]  # positions outside the sequence are ignored
            start = start_positions.view(-1).clamp(0, T)
            end = end_positions.view(-1).clamp(0, T)
            loss = (F.cross_entropy(start_logits, start, ignore_index=T)
                    + F.cross_entropy(end_logits, end, ignore_index=T)) / 2
        output = QuestionAnsweringModelOutput(loss, start_logits, end_logits, outputs.hidden_states, outputs.attentions)
        return output if return_dict else output.to_tuple()


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = ACTIVATIONS[config.hidden_act]()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class BertLMPredictionHead(nn.Module):
    """Transform, then project onto the vocabulary with the (tied) input embedding matrix and its own bias."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden_states))  # B T V


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: torch.Tensor) -> torch.Tensor:
        return self.predictions(sequence_output)


class BertForMaskedLM(BertPreTrainedModel):
    """Masked-token prediction; the decoder shares its weight with the word embeddings. Labels of -100 are ignored."""

    tied_weights = {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()

    def tie_weights(self) -> None:
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight
        self.cls.predictions.decoder.bias = self.cls.predictions.bias

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False,
                return_dict=True) -> MaskedLMOutput | tuple:
        outputs = self.bert(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                            output_attentions, output_hidden_states)
        logits = self.cls(outputs.last_hidden_state)  # B T V
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)
        output = MaskedLMOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return output if return_dict else output.to_tuple()


class BertForMultipleChoice(BertPreTrainedModel):
    """Each of C choices is encoded separately; pooled output -> dropout -> Linear(D, 1) gives B C scores."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False,
                return_dict=True) -> MultipleChoiceModelOutput | tuple:
        reference = input_ids if input_ids is not None else inputs_embeds
        if reference is None or reference.dim() < 3:
            raise ValueError("BertForMultipleChoice expects inputs shaped (batch, choices, tokens).")
        B, C = reference.shape[:2]

        def flat(tensor):  # B C T (...) -> (B*C) T (...)
            return None if tensor is None else tensor.reshape(B * C, *tensor.shape[2:])

        outputs = self.bert(flat(input_ids), flat(attention_mask), flat(token_type_ids), flat(position_ids),
                            flat(inputs_embeds), output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(outputs.pooler_output)).view(B, C)  # B C
        loss = None if labels is None else F.cross_entropy(logits, labels.view(-1))
        output = MultipleChoiceModelOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return output if return_dict else output.to_tuple()
