"""Task heads that every encoder family shares: the forward pass of each task, written once.

A family's PreTrainedModel subclasses ``EncoderPreTrainedModel`` and says how to build its backbone; a family
head is then a class that mixes the family's base with one of the heads below::

    class RobertaForTokenClassification(RobertaPreTrainedModel, EncoderForTokenClassification):
        pass

Token classification and question answering are complete here. For sequence classification, multiple
choice and masked LM the family's ``__init__`` adds its own modules (their names are the checkpoint's) and
implements one method (``classify`` / ``choice_scores`` / ``lm_logits``); input handling, losses and the
output type stay here. A family whose task layers all start with a shared transform (ModernBERT's
``head``) overrides ``attach_backbone`` and ``task_features``.

Shapes: B batch, T tokens, D hidden, C choices, L labels, V vocabulary.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .activations import torch_activation
from .configuration_utils import infer_problem_type
from .modeling_layers import Dropout, choices_as_batch, sequence_classification_loss, span_logits, span_loss, token_loss
from .modeling_outputs import (
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from .modeling_utils import PreTrainedModel


class EncoderPreTrainedModel(PreTrainedModel):
    """A family's base class: builds its backbone for the heads, and says how much dropout its classifiers use."""

    backbone_takes_first_token_only: ClassVar[bool] = False
    """True when the backbone's forward takes ``first_token_only`` (see BertModel): heads that read only
    position 0 (sequence classification, multiple choice) then skip the last layer's work on other tokens."""

    def build_backbone(self, add_pooling_layer: bool) -> nn.Module:
        raise NotImplementedError(f"{type(self).__name__} must say how to build its backbone (build_backbone).")

    def attach_backbone(self, add_pooling_layer: bool = False) -> None:
        """The backbone, under the checkpoint's name for it (``roberta``, ``distilbert``, ...)."""
        setattr(self, self.base_model_prefix, self.build_backbone(add_pooling_layer))

    def classifier_dropout_rate(self) -> float:
        config = self.config
        return config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob

    def task_features(self, hidden_states: torch.Tensor) -> torch.Tensor:  # ... D -> ... D
        """What the token-classification and span layers read: the hidden states, unless a family transforms them."""
        return hidden_states

    def encode(self, input_ids: torch.Tensor | None, attention_mask: torch.Tensor | None, output_attentions: bool,
               output_hidden_states: bool, reads_first_token_only: bool = False,
               **inputs: torch.Tensor | None) -> BaseModelOutputWithPooling:
        """Run the backbone; optional inputs that are None are not passed (a family may not take token types).
        ``reads_first_token_only``: the caller reads nothing of the last hidden state but position 0."""
        given = {name: value for name, value in inputs.items() if value is not None}
        if reads_first_token_only and self.backbone_takes_first_token_only:
            given["first_token_only"] = True
        return self.base_model(input_ids=input_ids, attention_mask=attention_mask, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, **given)


def _finish(output: Any, return_dict: bool) -> Any:
    return output if return_dict else output.to_tuple()


class ClassificationHead(nn.Module):
    """First token -> dropout -> dense -> activation -> dropout -> out_proj (RoBERTa: tanh, ELECTRA: gelu)."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float, activation: str):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.dropout = Dropout(dropout)
        self.out_proj = nn.Linear(hidden_size, num_labels)
        self.activation = torch_activation(activation)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:  # B T D -> B L
        x = self.dropout(hidden_states[:, 0])
        return self.out_proj(self.dropout(self.activation(self.dense(x))))


class MaskedLMHead(nn.Module):
    """dense -> GELU -> layer_norm -> decoder onto the vocabulary (decoder weight tied to the input embeddings
    by the model, decoder bias = ``bias``); RoBERTa-style names ``dense``, ``layer_norm``, ``decoder``, ``bias``."""

    def __init__(self, hidden_size: int, vocab_size: int, layer_norm_eps: float):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.decoder = nn.Linear(hidden_size, vocab_size)
        self.bias = nn.Parameter(torch.zeros(vocab_size))
        self.decoder.bias = self.bias

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:  # ... D -> ... V
        return self.decoder(self.layer_norm(F.gelu(self.dense(hidden_states))))


def zero_lm_head_bias(module: nn.Module) -> None:
    """An ``init_encoder_weights`` extra: the vocabulary bias of a MaskedLMHead starts at zero."""
    if isinstance(module, MaskedLMHead):
        module.bias.data.zero_()


class EncoderForSequenceClassification(EncoderPreTrainedModel):
    """One vector per text -> L logits. Loss from ``config.problem_type`` (inferred from the labels when None)."""

    add_pooling_layer: ClassVar[bool] = False

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.problem_type = infer_problem_type(config.problem_type, config.num_labels)
        self.attach_backbone(self.add_pooling_layer)

    def classify(self, outputs: BaseModelOutputWithPooling, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """B L logits from the backbone's outputs (the mask is there for families that mean-pool)."""
        raise NotImplementedError

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False,
                return_dict=True) -> SequenceClassifierOutput | tuple:
        outputs = self.encode(input_ids, attention_mask, output_attentions, output_hidden_states,
                              reads_first_token_only=True, token_type_ids=token_type_ids, position_ids=position_ids,
                              inputs_embeds=inputs_embeds)
        logits = self.classify(outputs, attention_mask)  # B L
        loss = None if labels is None else sequence_classification_loss(logits, labels, self.problem_type)
        return _finish(SequenceClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions), return_dict)


class EncoderForTokenClassification(EncoderPreTrainedModel):
    """Hidden states -> dropout -> Linear(D, L) per token; labels of -100 are ignored."""

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.attach_backbone(add_pooling_layer=False)
        self.dropout = Dropout(self.classifier_dropout_rate())
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False,
                return_dict=True) -> TokenClassifierOutput | tuple:
        outputs = self.encode(input_ids, attention_mask, output_attentions, output_hidden_states,
                              token_type_ids=token_type_ids, position_ids=position_ids, inputs_embeds=inputs_embeds)
        logits = self.classifier(self.dropout(self.task_features(outputs.last_hidden_state)))  # B T L
        loss = None if labels is None else token_loss(logits, labels)
        return _finish(TokenClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions), return_dict)


class EncoderForQuestionAnswering(EncoderPreTrainedModel):
    """Hidden states -> Linear(D, 2): start and end logits of the answer span (padding positions get -inf)."""

    span_layer_name: ClassVar[str] = "qa_outputs"  # the checkpoint's name for the Linear(D, 2)

    def __init__(self, config):
        super().__init__(config)
        self.attach_backbone(add_pooling_layer=False)
        setattr(self, self.span_layer_name, nn.Linear(config.hidden_size, 2))
        self.dropout = Dropout(self.qa_dropout()) if self.qa_dropout() is not None else nn.Identity()
        self.post_init()

    def qa_dropout(self) -> float | None:
        """Dropout before qa_outputs (DistilBERT has one); None: none."""
        return None

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, start_positions=None, end_positions=None, output_attentions=False,
                output_hidden_states=False, return_dict=True) -> QuestionAnsweringModelOutput | tuple:
        outputs = self.encode(input_ids, attention_mask, output_attentions, output_hidden_states,
                              token_type_ids=token_type_ids, position_ids=position_ids, inputs_embeds=inputs_embeds)
        span_layer = getattr(self, self.span_layer_name)
        logits = span_layer(self.dropout(self.task_features(outputs.last_hidden_state)))  # B T 2
        start_logits, end_logits = span_logits(logits, attention_mask)  # B T each
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start_logits, end_logits, start_positions, end_positions)
        output = QuestionAnsweringModelOutput(loss, start_logits, end_logits, outputs.hidden_states, outputs.attentions)
        return _finish(output, return_dict)


class EncoderForMultipleChoice(EncoderPreTrainedModel):
    """Each of C choices is encoded on its own; ``choice_scores`` gives one score per choice: B C logits."""

    add_pooling_layer: ClassVar[bool] = False

    def __init__(self, config):
        super().__init__(config)
        self.attach_backbone(self.add_pooling_layer)

    def choice_scores(self, outputs: BaseModelOutputWithPooling, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """(B*C) 1 scores, one per encoded choice (the mask is (B*C) T)."""
        raise NotImplementedError

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False,
                return_dict=True) -> MultipleChoiceModelOutput | tuple:
        B, C, (input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds) = choices_as_batch(
            type(self).__name__, input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds)
        outputs = self.encode(input_ids, attention_mask, output_attentions, output_hidden_states,
                              reads_first_token_only=True, token_type_ids=token_type_ids, position_ids=position_ids,
                              inputs_embeds=inputs_embeds)
        logits = self.choice_scores(outputs, attention_mask).view(B, C)  # B C
        loss = None if labels is None else F.cross_entropy(logits, labels.view(-1))
        return _finish(MultipleChoiceModelOutput(loss, logits, outputs.hidden_states, outputs.attentions), return_dict)


class EncoderForMaskedLM(EncoderPreTrainedModel):
    """Masked-token prediction over the vocabulary (B T V); labels of -100 are ignored. The family's decoder
    shares its weight with the word embeddings (``tied_weights`` and ``tie_weights``)."""

    def __init__(self, config):
        super().__init__(config)
        self.attach_backbone(add_pooling_layer=False)

    def lm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:  # B T D -> B T V
        raise NotImplementedError

    def scored_positions(self, hidden_states: torch.Tensor, labels: torch.Tensor | None
                         ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The hidden states (and labels) to score: all of them, unless a family scores only labelled tokens."""
        return hidden_states, labels

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False,
                return_dict=True) -> MaskedLMOutput | tuple:
        outputs = self.encode(input_ids, attention_mask, output_attentions, output_hidden_states,
                              token_type_ids=token_type_ids, position_ids=position_ids, inputs_embeds=inputs_embeds)
        hidden_states, labels = self.scored_positions(outputs.last_hidden_state, labels)
        logits = self.lm_logits(hidden_states)  # B T V
        loss = None if labels is None else token_loss(logits, labels)
        return _finish(MaskedLMOutput(loss, logits, outputs.hidden_states, outputs.attentions), return_dict)
