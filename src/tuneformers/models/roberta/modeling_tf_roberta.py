"""RoBERTa in Keras 3 (TensorFlow backend): TF BERT's layers and heads (``modeling_tf_bert.py``) behind RoBERTa's
embeddings, held under ``roberta``, with RoBERTa's classification and LM heads. Mirrors ``modeling_roberta.py``.

Weight names are HF 4.x's ``tf_model.h5`` names (``roberta/encoder/layer_._0/...``, ``classifier/out_proj/kernel``,
``lm_head/layer_norm/gamma``, ``lm_head/bias``), mapped to PyTorch by ``convert_roberta.py``.
Dimension legend: B batch, T tokens, D hidden, V vocabulary, L labels.
"""

from __future__ import annotations

from typing import Any

from ...activations import tf_activation
from ...configuration_utils import infer_problem_type
from ...modeling_tf_utils import TFMaskedLMOutput, TFSequenceClassifierOutput, keras, tf
from ..bert.modeling_tf_bert import (
    TFBertEmbeddings,
    TFBertForMaskedLM,
    TFBertForMultipleChoice,
    TFBertForQuestionAnswering,
    TFBertForSequenceClassification,
    TFBertForTokenClassification,
    TFBertMainLayer,
    TFBertModel,
    TFBertPreTrainedModel,
    _dense,
)
from . import convert_roberta  # noqa: F401  (registers the PyTorch <-> TF weight names of RoBERTa)
from .configuration_roberta import RobertaConfig


class TFRobertaEmbeddings(TFBertEmbeddings):
    """Positions count from ``pad_token_id + 1`` over the real (non-padding) ids; padding takes the padding position."""

    def __init__(self, config: RobertaConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.padding_idx = config.pad_token_id

    def call(self, input_ids, token_type_ids, position_ids, training=False):
        if position_ids is None:
            tf.debugging.assert_less(
                tf.shape(input_ids)[1] + self.padding_idx, self.max_positions,
                message=f"Sequence longer than max_position_embeddings - pad_token_id - 1 = "
                        f"{self.max_positions - self.padding_idx - 1}: truncate the inputs.",
            )
            real = tf.cast(tf.not_equal(input_ids, self.padding_idx), input_ids.dtype)  # (B, T)
            position_ids = tf.cumsum(real, axis=1) * real + self.padding_idx
        return super().call(input_ids, token_type_ids, position_ids, training=training)


class TFRobertaMainLayer(TFBertMainLayer):
    embeddings_class = TFRobertaEmbeddings


class TFRobertaPreTrainedMixin:
    """What every TF RoBERTa model shares: its config class, the ``roberta`` scope and backbone."""

    config_class = RobertaConfig
    base_model_prefix = "roberta"
    main_layer_class = TFRobertaMainLayer


class TFRobertaModel(TFRobertaPreTrainedMixin, TFBertModel):
    pass


class TFRobertaClassificationHead(keras.layers.Layer):
    """``<s>`` -> dropout -> dense (tanh) -> dropout -> out_proj."""

    def __init__(self, config: RobertaConfig, rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dense = _dense(config.hidden_size, config, "dense", activation="tanh")
        self.dropout = keras.layers.Dropout(rate)
        self.out_proj = _dense(config.num_labels, config, "out_proj")

    def call(self, hidden, training=False):
        x = self.dropout(hidden[:, 0], training=training)  # (B, D)
        return self.out_proj(self.dropout(self.dense(x), training=training))  # (B, L)


class TFRobertaForSequenceClassification(TFRobertaPreTrainedMixin, TFBertPreTrainedModel):
    output_class = TFSequenceClassifierOutput
    task_loss = TFBertForSequenceClassification.task_loss

    def __init__(self, config: RobertaConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.attach_main_layer(add_pooling_layer=False)
        self.classifier = TFRobertaClassificationHead(config, self.classifier_dropout_rate(), name="classifier")
        self.problem_type = infer_problem_type(config.problem_type, config.num_labels)

    def forward(self, features, flags, training):
        base = self.main_layer(**features, **flags, training=training)
        logits = self.classifier(base.last_hidden_state, training=training)  # (B, L)
        return TFSequenceClassifierOutput(None, logits, base.hidden_states, base.attentions)


class TFRobertaForTokenClassification(TFRobertaPreTrainedMixin, TFBertForTokenClassification):
    pass


class TFRobertaForQuestionAnswering(TFRobertaPreTrainedMixin, TFBertForQuestionAnswering):
    pass


class TFRobertaForMultipleChoice(TFRobertaPreTrainedMixin, TFBertForMultipleChoice):
    def classifier_dropout_rate(self) -> float:
        return self.config.hidden_dropout_prob  # as RoBERTa's PyTorch head


class TFRobertaLMHead(keras.layers.Layer):
    """dense -> gelu -> layer_norm -> scores against the word embedding table (tied decoder) + bias."""

    def __init__(self, config: RobertaConfig, input_embeddings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dense = _dense(config.hidden_size, config, "dense", activation=tf_activation("gelu"))
        self.layer_norm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layer_norm")
        self._input_embeddings = input_embeddings  # tied, not walked: saved once under roberta/embeddings
        self.bias = self.add_weight(shape=(config.vocab_size,), initializer="zeros", name="bias")

    def call(self, hidden):
        hidden = self.layer_norm(self.dense(hidden))  # (B, T, D)
        return tf.matmul(hidden, self._input_embeddings.weight, transpose_b=True) + self.bias  # (B, T, V)


class TFRobertaForMaskedLM(TFRobertaPreTrainedMixin, TFBertPreTrainedModel):
    output_class = TFMaskedLMOutput
    task_loss = TFBertForMaskedLM.task_loss

    def __init__(self, config: RobertaConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.attach_main_layer(add_pooling_layer=False)
        self.lm_head = TFRobertaLMHead(config, self.main_layer.embeddings.word_embeddings, name="lm_head")

    def forward(self, features, flags, training):
        base = self.main_layer(**features, **flags, training=training)
        return TFMaskedLMOutput(None, self.lm_head(base.last_hidden_state), base.hidden_states, base.attentions)
