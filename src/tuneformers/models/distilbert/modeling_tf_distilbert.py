"""DistilBERT in Keras 3 (TensorFlow backend), mirroring ``modeling_distilbert.py``: DistilBERT's own blocks
(``q_lin`` ... ``output_layer_norm``) and heads, TF BERT's input handling, losses and token-classification head.

Weight names are HF 4.x's ``tf_model.h5`` names (``distilbert/transformer/layer_._0/attention/q_lin/kernel``,
``vocab_projector/bias``), mapped to PyTorch by ``convert_distilbert.py``.
Dimension legend: B batch, C choices, T tokens, N heads, H head size, D dim, I hidden_dim, V vocabulary, L labels.
"""

from __future__ import annotations

import math
from typing import Any

from ...activations import tf_activation
from ...configuration_utils import infer_problem_type
from ...modeling_tf_utils import (
    TFBaseModelOutputWithPooling,
    TFMaskedLMOutput,
    TFMultipleChoiceModelOutput,
    TFQuestionAnsweringModelOutput,
    TFSequenceClassifierOutput,
    keras,
    tf,
)
from ..bert.modeling_tf_bert import (
    TFBertEmbeddingTable,
    TFBertForMaskedLM,
    TFBertForMultipleChoice,
    TFBertForQuestionAnswering,
    TFBertForSequenceClassification,
    TFBertForTokenClassification,
    TFBertModel,
    TFBertPreTrainedModel,
    _dense,
    run_tf_layers,
)
from . import convert_distilbert  # noqa: F401  (registers the PyTorch <-> TF weight names of DistilBERT)
from .configuration_distilbert import DistilBertConfig, sinusoidal_position_table


def _layer_norm(name: str) -> keras.layers.LayerNormalization:
    return keras.layers.LayerNormalization(epsilon=1e-12, name=name)


class TFEmbeddings(keras.layers.Layer):
    def __init__(self, config: DistilBertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.word_embeddings = TFBertEmbeddingTable(config.vocab_size, config, "weight", name="word_embeddings")
        self.position_embeddings = TFBertEmbeddingTable(config.max_position_embeddings, config, "embeddings",
                                                        name="position_embeddings")
        if config.sinusoidal_pos_embds:
            self.position_embeddings.weight.assign(sinusoidal_position_table(*self.position_embeddings.weight.shape))
            self.position_embeddings.weight.trainable = False
        self.LayerNorm = _layer_norm("LayerNorm")
        self.dropout = keras.layers.Dropout(config.dropout)
        self.max_positions = config.max_position_embeddings

    def call(self, input_ids, position_ids, training=False):
        length = tf.shape(input_ids)[1]
        tf.debugging.assert_less_equal(
            length, self.max_positions,
            message=f"Sequence longer than max_position_embeddings={self.max_positions}: truncate the inputs.",
        )
        if position_ids is None:
            position_ids = tf.range(length)[tf.newaxis, :]  # (1, T)
        hidden = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)  # (B, T, D)
        return self.dropout(self.LayerNorm(hidden), training=training)


class TFMultiHeadSelfAttention(keras.layers.Layer):
    def __init__(self, config: DistilBertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_heads, self.head_size = config.n_heads, config.head_size
        self.q_lin = _dense(config.dim, config, "q_lin")
        self.k_lin = _dense(config.dim, config, "k_lin")
        self.v_lin = _dense(config.dim, config, "v_lin")
        self.out_lin = _dense(config.dim, config, "out_lin")
        self.dropout = keras.layers.Dropout(config.attention_dropout)

    def _split_heads(self, x: tf.Tensor) -> tf.Tensor:
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        return tf.transpose(tf.reshape(x, (batch, length, self.n_heads, self.head_size)), (0, 2, 1, 3))  # (B, N, T, H)

    def call(self, hidden, mask_bias, training=False):
        query, key, value = (self._split_heads(layer(hidden)) for layer in (self.q_lin, self.k_lin, self.v_lin))
        scores = tf.matmul(query, key, transpose_b=True) / math.sqrt(self.head_size)  # (B, N, T, T)
        probs = tf.nn.softmax(scores + mask_bias, axis=-1)
        context = tf.transpose(tf.matmul(self.dropout(probs, training=training), value), (0, 2, 1, 3))  # (B, T, N, H)
        batch, length = tf.shape(context)[0], tf.shape(context)[1]
        return self.out_lin(tf.reshape(context, (batch, length, self.n_heads * self.head_size))), probs  # (B, T, D)


class TFFFN(keras.layers.Layer):
    def __init__(self, config: DistilBertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lin1 = _dense(config.hidden_dim, config, "lin1", activation=tf_activation(config.activation))
        self.lin2 = _dense(config.dim, config, "lin2")
        self.dropout = keras.layers.Dropout(config.dropout)

    def call(self, hidden, training=False):
        return self.dropout(self.lin2(self.lin1(hidden)), training=training)  # (B, T, D)


class TFTransformerBlock(keras.layers.Layer):
    def __init__(self, config: DistilBertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attention = TFMultiHeadSelfAttention(config, name="attention")
        self.sa_layer_norm = _layer_norm("sa_layer_norm")
        self.ffn = TFFFN(config, name="ffn")
        self.output_layer_norm = _layer_norm("output_layer_norm")

    def call(self, hidden, mask_bias, training=False):
        attended, probs = self.attention(hidden, mask_bias, training=training)
        attended = self.sa_layer_norm(attended + hidden)
        return self.output_layer_norm(self.ffn(attended, training=training) + attended), probs


class TFTransformer(keras.layers.Layer):
    def __init__(self, config: DistilBertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer = [TFTransformerBlock(config, name=f"layer_._{index}") for index in range(config.n_layers)]

    def call(self, hidden, mask_bias, output_hidden_states=False, output_attentions=False, training=False):
        return run_tf_layers(self.layer, hidden, mask_bias, output_hidden_states, output_attentions, training)


class TFDistilBertMainLayer(keras.layers.Layer):
    """The backbone: what PyTorch calls ``DistilBertModel`` (no token types, no pooler)."""

    def __init__(self, config: DistilBertConfig, add_pooling_layer: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embeddings = TFEmbeddings(config, name="embeddings")
        self.transformer = TFTransformer(config, name="transformer")

    def call(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
             output_hidden_states=False, output_attentions=False, training=False):
        if token_type_ids is not None:
            raise ValueError("DistilBERT has no token types: drop token_type_ids from the inputs "
                             "(DistilBertTokenizer does not return them).")
        if attention_mask is None:
            attention_mask = tf.ones_like(input_ids)
        hidden = self.embeddings(input_ids, position_ids, training=training)  # (B, T, D)
        keep = tf.cast(attention_mask, hidden.dtype)[:, tf.newaxis, tf.newaxis, :]  # (B, 1, 1, T)
        hidden, all_hidden, attentions = self.transformer(
            hidden, (1.0 - keep) * hidden.dtype.min, output_hidden_states=output_hidden_states,
            output_attentions=output_attentions, training=training)
        return TFBaseModelOutputWithPooling(hidden, None, all_hidden, attentions)


class TFDistilBertPreTrainedMixin:
    """What every TF DistilBERT model shares: its config class, the ``distilbert`` scope and backbone."""

    config_class = DistilBertConfig
    base_model_prefix = "distilbert"
    main_layer_class = TFDistilBertMainLayer

    def classifier_dropout_rate(self) -> float:
        return self.config.dropout


class TFDistilBertModel(TFDistilBertPreTrainedMixin, TFBertModel):
    pass


class TFDistilBertForTokenClassification(TFDistilBertPreTrainedMixin, TFBertForTokenClassification):
    pass


class _TFPreClassifier(TFDistilBertPreTrainedMixin, TFBertPreTrainedModel):
    """First token -> pre_classifier (ReLU) -> dropout -> classifier: the sequence and choice heads."""

    def __init__(self, config: DistilBertConfig, outputs: int, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.attach_main_layer()
        self.pre_classifier = _dense(config.dim, config, "pre_classifier", activation="relu")
        self.dropout = keras.layers.Dropout(config.seq_classif_dropout)
        self.classifier = _dense(outputs, config, "classifier")

    def scores(self, features, flags, training):
        base = self.main_layer(**features, **flags, training=training)
        pooled = self.dropout(self.pre_classifier(base.last_hidden_state[:, 0]), training=training)  # (B, D)
        return self.classifier(pooled), base


class TFDistilBertForSequenceClassification(_TFPreClassifier):
    output_class = TFSequenceClassifierOutput
    task_loss = TFBertForSequenceClassification.task_loss

    def __init__(self, config: DistilBertConfig, **kwargs: Any) -> None:
        super().__init__(config, config.num_labels, **kwargs)
        self.problem_type = infer_problem_type(config.problem_type, config.num_labels)

    def forward(self, features, flags, training):
        logits, base = self.scores(features, flags, training)  # (B, L)
        return TFSequenceClassifierOutput(None, logits, base.hidden_states, base.attentions)


class TFDistilBertForMultipleChoice(_TFPreClassifier):
    output_class = TFMultipleChoiceModelOutput
    task_loss = TFBertForMultipleChoice.task_loss
    dummy_inputs = TFBertForMultipleChoice.dummy_inputs

    def __init__(self, config: DistilBertConfig, **kwargs: Any) -> None:
        super().__init__(config, 1, **kwargs)

    def forward(self, features, flags, training):
        choices = tf.shape(features["input_ids"])[1]
        flat = {key: tf.reshape(value, (-1, tf.shape(value)[-1])) for key, value in features.items()}  # (B*C, T)
        scores, base = self.scores(flat, flags, training)  # (B*C, 1)
        return TFMultipleChoiceModelOutput(None, tf.reshape(scores, (-1, choices)), base.hidden_states, base.attentions)


class TFDistilBertForQuestionAnswering(TFDistilBertPreTrainedMixin, TFBertForQuestionAnswering):
    """Dropout (qa_dropout) -> qa_outputs: start and end logits."""

    def __init__(self, config: DistilBertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.dropout = keras.layers.Dropout(config.qa_dropout)

    def forward(self, features, flags, training):
        base = self.main_layer(**features, **flags, training=training)
        logits = self.qa_outputs(self.dropout(base.last_hidden_state, training=training))  # (B, T, 2)
        start_logits, end_logits = tf.unstack(logits, axis=-1)  # (B, T) each
        return TFQuestionAnsweringModelOutput(None, start_logits, end_logits, base.hidden_states, base.attentions)


class TFDistilBertLMHead(keras.layers.Layer):
    """Scores against the word embedding table (tied ``vocab_projector`` weight) + its own bias."""

    def __init__(self, config: DistilBertConfig, input_embeddings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._input_embeddings = input_embeddings  # tied, not walked: saved once under distilbert/embeddings
        self.bias = self.add_weight(shape=(config.vocab_size,), initializer="zeros", name="bias")

    def call(self, hidden):
        return tf.matmul(hidden, self._input_embeddings.weight, transpose_b=True) + self.bias  # (B, T, V)


class TFDistilBertForMaskedLM(TFDistilBertPreTrainedMixin, TFBertPreTrainedModel):
    """vocab_transform (activation) -> vocab_layer_norm -> vocab_projector (tied): (B, T, V) logits."""

    output_class = TFMaskedLMOutput
    task_loss = TFBertForMaskedLM.task_loss

    def __init__(self, config: DistilBertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.attach_main_layer()
        activation = tf_activation(config.activation)
        self.vocab_transform = _dense(config.dim, config, "vocab_transform", activation=activation)
        self.vocab_layer_norm = _layer_norm("vocab_layer_norm")
        embeddings = self.main_layer.embeddings.word_embeddings
        self.vocab_projector = TFDistilBertLMHead(config, embeddings, name="vocab_projector")

    def forward(self, features, flags, training):
        base = self.main_layer(**features, **flags, training=training)
        logits = self.vocab_projector(self.vocab_layer_norm(self.vocab_transform(base.last_hidden_state)))
        return TFMaskedLMOutput(None, logits, base.hidden_states, base.attentions)
