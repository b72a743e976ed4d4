"""BERT in Keras 3 (TensorFlow backend), mirroring ``modeling_bert.py`` module for module.

Attribute names equal the PyTorch ones (``embeddings.word_embeddings``, ``encoder.layer[i].attention.self.query``,
``pooler.dense``, ``classifier``, ``qa_outputs``, ``cls.predictions.transform.dense``), so the weight names map
one to one (``convert_bert.py``). One difference: every TF model, the bare ``TFBertModel`` included, holds its
backbone under ``bert`` (``TFBertMainLayer`` = PyTorch ``BertModel``), which is the layout of HF 4.x tf_model.h5 files.

Dimension legend: B batch, C choices, T tokens, N heads, H head size, D hidden, I intermediate, V vocabulary, L labels.

Inputs: a dict (as tf.data yields it) or keyword arguments: ``input_ids`` (B, T), optional ``attention_mask``,
``token_type_ids``, ``position_ids``, and labels (``labels``; ``start_positions`` / ``end_positions`` for QA).
Sequences may have any length up to ``max_position_embeddings``: pad per batch, not to a fixed length.
"""

from __future__ import annotations

import math
from typing import Any

from ...activations import tf_activation
from ...configuration_utils import infer_problem_type
from ...constants import IGNORE_INDEX
from ...modeling_tf_utils import (
    TFBaseModelOutputWithPooling,
    TFMaskedLMOutput,
    TFModelOutput,
    TFMultipleChoiceModelOutput,
    TFPreTrainedModel,
    TFQuestionAnsweringModelOutput,
    TFSequenceClassifierOutput,
    TFTokenClassifierOutput,
    keras,
    tf,
)
from . import convert_bert  # noqa: F401  (registers the PyTorch <-> TF weight names of BERT)
from .configuration_bert import BertConfig

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids", "position_ids")
LABEL_NAMES = ("labels", "start_positions", "end_positions")
FLAG_NAMES = ("output_hidden_states", "output_attentions")


def _dense(units: int, config: BertConfig, name: str, activation=None) -> keras.layers.Dense:
    initializer = keras.initializers.TruncatedNormal(stddev=config.initializer_range)
    return keras.layers.Dense(units, activation=activation, kernel_initializer=initializer, name=name)


def _layer_norm(config: BertConfig) -> keras.layers.LayerNormalization:
    return keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")


class TFBertEmbeddingTable(keras.layers.Layer):
    """A (rows, D) lookup table; ``variable_name`` keeps HF 4.x's names (word table "weight", others "embeddings")."""

    def __init__(self, rows: int, config: BertConfig, variable_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        initializer = keras.initializers.TruncatedNormal(stddev=config.initializer_range)
        self.weight = self.add_weight(shape=(rows, config.hidden_size), initializer=initializer, name=variable_name)

    def call(self, ids: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.weight, ids)


class TFBertEmbeddings(keras.layers.Layer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.word_embeddings = TFBertEmbeddingTable(config.vocab_size, config, "weight", name="word_embeddings")
        self.position_embeddings = TFBertEmbeddingTable(
            config.max_position_embeddings, config, "embeddings", name="position_embeddings"
        )
        self.token_type_embeddings = TFBertEmbeddingTable(
            config.type_vocab_size, config, "embeddings", name="token_type_embeddings"
        )
        self.LayerNorm = _layer_norm(config)
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)
        self.max_positions = config.max_position_embeddings

    def call(self, input_ids, token_type_ids, position_ids, training=False):
        length = tf.shape(input_ids)[1]
        tf.debugging.assert_less_equal(
            length, self.max_positions,
            message=f"Sequence longer than max_position_embeddings={self.max_positions}: truncate the inputs.",
        )
        if position_ids is None:
            position_ids = tf.range(length)[tf.newaxis, :]  # (1, T)
        hidden = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(position_ids)
            + self.token_type_embeddings(token_type_ids)
        )  # (B, T, D)
        return self.dropout(self.LayerNorm(hidden), training=training)


class TFBertSelfAttention(keras.layers.Layer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_heads = config.num_attention_heads
        self.head_size = config.head_size
        self.query = _dense(config.hidden_size, config, "query")
        self.key = _dense(config.hidden_size, config, "key")
        self.value = _dense(config.hidden_size, config, "value")
        self.dropout = keras.layers.Dropout(config.attention_probs_dropout_prob)

    def _split_heads(self, x: tf.Tensor) -> tf.Tensor:
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        x = tf.reshape(x, (batch, length, self.num_heads, self.head_size))  # (B, T, N, H)
        return tf.transpose(x, (0, 2, 1, 3))  # (B, N, T, H)

    def call(self, hidden, mask_bias, training=False):
        query = self._split_heads(self.query(hidden))
        key = self._split_heads(self.key(hidden))
        value = self._split_heads(self.value(hidden))
        scores = tf.matmul(query, key, transpose_b=True) / math.sqrt(self.head_size)  # (B, N, T, T)
        probs = tf.nn.softmax(scores + mask_bias, axis=-1)
        context = tf.matmul(self.dropout(probs, training=training), value)  # (B, N, T, H)
        context = tf.transpose(context, (0, 2, 1, 3))  # (B, T, N, H)
        batch, length = tf.shape(context)[0], tf.shape(context)[1]
        return tf.reshape(context, (batch, length, self.num_heads * self.head_size)), probs  # (B, T, D)


class TFBertSelfOutput(keras.layers.Layer):
    """Projection, dropout, then residual + LayerNorm (also the feed-forward output, ``TFBertOutput``)."""

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dense = _dense(config.hidden_size, config, "dense")
        self.LayerNorm = _layer_norm(config)
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def call(self, hidden, residual, training=False):
        return self.LayerNorm(self.dropout(self.dense(hidden), training=training) + residual)


TFBertOutput = TFBertSelfOutput


class TFBertAttention(keras.layers.Layer):
    output = None  # shadows keras' read-only Layer.output so the sub-layer can keep its PyTorch name

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.self = TFBertSelfAttention(config, name="self")
        self.output = TFBertSelfOutput(config, name="output")

    def call(self, hidden, mask_bias, training=False):
        context, probs = self.self(hidden, mask_bias, training=training)
        return self.output(context, hidden, training=training), probs


class TFBertIntermediate(keras.layers.Layer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dense = _dense(config.intermediate_size, config, "dense", activation=tf_activation(config.hidden_act))

    def call(self, hidden):
        return self.dense(hidden)  # (B, T, I)


class TFBertLayer(keras.layers.Layer):
    output = None  # see TFBertAttention

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attention = TFBertAttention(config, name="attention")
        self.intermediate = TFBertIntermediate(config, name="intermediate")
        self.output = TFBertOutput(config, name="output")

    def call(self, hidden, mask_bias, training=False):
        attended, probs = self.attention(hidden, mask_bias, training=training)
        return self.output(self.intermediate(attended), attended, training=training), probs


class TFBertEncoder(keras.layers.Layer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer = [TFBertLayer(config, name=f"layer_._{index}") for index in range(config.num_hidden_layers)]

    def call(self, hidden, mask_bias, output_hidden_states=False, output_attentions=False, training=False):
        return run_tf_layers(self.layer, hidden, mask_bias, output_hidden_states, output_attentions, training)


def run_tf_layers(layers, hidden, mask_bias, output_hidden_states: bool, output_attentions: bool, training: bool):
    """Each layer in turn: (last hidden states, all hidden states or None, attention probabilities or None)."""
    all_hidden, all_attentions = [hidden], []
    for block in layers:
        hidden, probs = block(hidden, mask_bias, training=training)
        all_hidden.append(hidden)
        all_attentions.append(probs)
    return (hidden, tuple(all_hidden) if output_hidden_states else None,
            tuple(all_attentions) if output_attentions else None)


class TFBertPooler(keras.layers.Layer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dense = _dense(config.hidden_size, config, "dense", activation="tanh")

    def call(self, hidden):
        return self.dense(hidden[:, 0])  # (B, D): the first ([CLS]) token


class TFBertMainLayer(keras.layers.Layer):
    """The backbone: what PyTorch calls ``BertModel``."""

    embeddings_class = TFBertEmbeddings  # RoBERTa swaps in its own

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embeddings = self.embeddings_class(config, name="embeddings")
        self.encoder = TFBertEncoder(config, name="encoder")
        self.pooler = TFBertPooler(config, name="pooler") if add_pooling_layer else None

    def call(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
             output_hidden_states=False, output_attentions=False, training=False):
        if attention_mask is None:
            attention_mask = tf.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = tf.zeros_like(input_ids)
        hidden = self.embeddings(input_ids, token_type_ids, position_ids, training=training)  # (B, T, D)
        keep = tf.cast(attention_mask, hidden.dtype)[:, tf.newaxis, tf.newaxis, :]  # (B, 1, 1, T)
        mask_bias = (1.0 - keep) * hidden.dtype.min
        hidden, all_hidden, attentions = self.encoder(
            hidden, mask_bias, output_hidden_states=output_hidden_states,
            output_attentions=output_attentions, training=training,
        )
        pooled = self.pooler(hidden) if self.pooler is not None else None
        return TFBaseModelOutputWithPooling(hidden, pooled, all_hidden, attentions)


# ---- models -------------------------------------------------------------------------------------------


def _split_inputs(model_name: str, inputs: Any, kwargs: dict[str, Any]) -> tuple[dict, dict, dict]:
    """(model inputs, labels, flags) from a dict or tensor plus keyword arguments; unknown keys are errors."""
    merged = dict(inputs) if isinstance(inputs, dict) else ({} if inputs is None else {"input_ids": inputs})
    merged.update({key: value for key, value in kwargs.items() if value is not None})
    unknown = [key for key in merged if key not in INPUT_NAMES + LABEL_NAMES + FLAG_NAMES]
    if unknown:
        raise TypeError(
            f"{model_name} got unexpected inputs {unknown}; it takes {list(INPUT_NAMES + LABEL_NAMES)}. "
            "Drop the extra keys from the features dict (e.g. dataset.map(lambda f, y: ({k: f[k] for k in keep}, y)))."
        )
    if "input_ids" not in merged:
        raise TypeError(f"{model_name} needs input_ids (a (batch, tokens) integer tensor).")
    features = {key: merged[key] for key in INPUT_NAMES if key in merged}
    labels = {key: merged[key] for key in LABEL_NAMES if key in merged}
    flags = {key: bool(merged.get(key, False)) for key in FLAG_NAMES}
    return features, labels, flags


def _masked_cross_entropy(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Mean cross entropy over labels that are not IGNORE_INDEX (-100); logits (..., L), labels (...)."""
    labels = tf.reshape(tf.cast(labels, tf.int32), (-1,))
    logits = tf.reshape(logits, (-1, tf.shape(logits)[-1]))
    keep = tf.not_equal(labels, IGNORE_INDEX)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.where(keep, labels, 0), logits)
    keep = tf.cast(keep, logits.dtype)
    return tf.reduce_sum(losses * keep) / tf.maximum(tf.reduce_sum(keep), 1.0)


class TFBertPreTrainedModel(TFPreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    main_layer_class = TFBertMainLayer
    """The backbone the heads build, held under ``base_model_prefix`` (another family swaps both)."""

    def attach_main_layer(self, add_pooling_layer: bool = True) -> None:
        layer = self.main_layer_class(self.config, add_pooling_layer=add_pooling_layer, name=self.base_model_prefix)
        setattr(self, self.base_model_prefix, layer)

    @property
    def main_layer(self) -> keras.layers.Layer:
        return getattr(self, self.base_model_prefix)

    def classifier_dropout_rate(self) -> float:
        config = self.config
        return config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob

    def call(self, inputs=None, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
             start_positions=None, end_positions=None, output_hidden_states=None, output_attentions=None,
             training=False):
        keywords = dict(attention_mask=attention_mask, token_type_ids=token_type_ids, position_ids=position_ids,
                        labels=labels, start_positions=start_positions, end_positions=end_positions,
                        output_hidden_states=output_hidden_states, output_attentions=output_attentions)
        features, labels, flags = _split_inputs(type(self).__name__, inputs, keywords)
        outputs = self.forward(features, flags, training=training)
        if labels:
            outputs.loss = self.task_loss(labels.get("labels", labels), outputs)
        return outputs

    def forward(self, features: dict, flags: dict, training: bool) -> TFModelOutput:
        raise NotImplementedError


class TFBertModel(TFBertPreTrainedModel):
    output_class = TFBaseModelOutputWithPooling

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.attach_main_layer(add_pooling_layer)

    def forward(self, features, flags, training):
        return self.main_layer(**features, **flags, training=training)


class TFBertForSequenceClassification(TFBertPreTrainedModel):
    """[CLS] pooled output -> dropout -> Linear(L). Loss from ``config.problem_type``; None infers it as PyTorch does."""

    output_class = TFSequenceClassifierOutput

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.attach_main_layer()
        self.dropout = keras.layers.Dropout(self.classifier_dropout_rate())
        self.classifier = _dense(config.num_labels, config, "classifier")
        self.problem_type = infer_problem_type(config.problem_type, config.num_labels)

    def forward(self, features, flags, training):
        base = self.main_layer(**features, **flags, training=training)
        logits = self.classifier(self.dropout(base.pooler_output, training=training))  # (B, L)
        return TFSequenceClassifierOutput(None, logits, base.hidden_states, base.attentions)

    def task_loss(self, labels, outputs):
        logits, labels = outputs.logits, tf.convert_to_tensor(labels)
        problem_type = self.problem_type or infer_problem_type(None, self.config.num_labels, labels.dtype.is_integer)
        if problem_type == "regression":
            labels = tf.reshape(tf.cast(labels, logits.dtype), tf.shape(logits))
            return tf.reduce_mean(tf.square(logits - labels))
        if problem_type == "multi_label_classification":
            labels = tf.cast(labels, logits.dtype)
            return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
        return _masked_cross_entropy(labels, logits)


class TFBertForTokenClassification(TFBertPreTrainedModel):
    """Every token's hidden state -> dropout -> Linear(L); labels -100 are ignored."""

    output_class = TFTokenClassifierOutput

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.attach_main_layer(add_pooling_layer=False)
        self.dropout = keras.layers.Dropout(self.classifier_dropout_rate())
        self.classifier = _dense(config.num_labels, config, "classifier")

    def forward(self, features, flags, training):
        base = self.main_layer(**features, **flags, training=training)
        logits = self.classifier(self.dropout(base.last_hidden_state, training=training))  # (B, T, L)
        return TFTokenClassifierOutput(None, logits, base.hidden_states, base.attentions)

    def task_loss(self, labels, outputs):
        return _masked_cross_entropy(labels, outputs.logits)


class TFBertForQuestionAnswering(TFBertPreTrainedModel):
    """Every token -> Linear(2): start and end logits. Loss: mean of the start and end cross entropies."""

    output_class = TFQuestionAnsweringModelOutput

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.attach_main_layer(add_pooling_layer=False)
        self.qa_outputs = _dense(2, config, "qa_outputs")

    def forward(self, features, flags, training):
        base = self.main_layer(**features, **flags, training=training)
        logits = self.qa_outputs(base.last_hidden_state)  # (B, T, 2)
        start_logits, end_logits = tf.unstack(logits, axis=-1)  # (B, T) each
        return TFQuestionAnsweringModelOutput(None, start_logits, end_logits, base.hidden_states, base.attentions)

    def task_loss(self, labels, outputs):
        """labels: {"start_positions", "end_positions"} or a (start, end) pair; positions past the end are ignored."""
        if isinstance(labels, dict):
            start, end = labels["start_positions"], labels["end_positions"]
        else:
            start, end = labels
        length = tf.shape(outputs.start_logits)[1]

        def loss(positions, logits):
            positions = tf.clip_by_value(tf.cast(positions, tf.int32), 0, length)
            positions = tf.where(positions == length, IGNORE_INDEX, positions)  # clamped = outside the text
            return _masked_cross_entropy(positions, logits)

        return (loss(start, outputs.start_logits) + loss(end, outputs.end_logits)) / 2


class TFBertPredictionHeadTransform(keras.layers.Layer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dense = _dense(config.hidden_size, config, "dense", activation=tf_activation(config.hidden_act))
        self.LayerNorm = _layer_norm(config)

    def call(self, hidden):
        return self.LayerNorm(self.dense(hidden))


class TFBertLMPredictionHead(keras.layers.Layer):
    """transform -> scores against the word embedding table (tied decoder) + bias."""

    def __init__(self, config: BertConfig, input_embeddings: TFBertEmbeddingTable, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transform = TFBertPredictionHeadTransform(config, name="transform")
        self._input_embeddings = input_embeddings  # tied, not walked: saved once under bert/embeddings
        self.bias = self.add_weight(shape=(config.vocab_size,), initializer="zeros", name="bias")

    def call(self, hidden):
        hidden = self.transform(hidden)  # (B, T, D)
        return tf.matmul(hidden, self._input_embeddings.weight, transpose_b=True) + self.bias  # (B, T, V)


class TFBertOnlyMLMHead(keras.layers.Layer):
    def __init__(self, config: BertConfig, input_embeddings: TFBertEmbeddingTable, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.predictions = TFBertLMPredictionHead(config, input_embeddings, name="predictions")

    def call(self, hidden):
        return self.predictions(hidden)


class TFBertForMaskedLM(TFBertPreTrainedModel):
    """Every token -> transform -> tied decoder: (B, T, V) logits; labels -100 are ignored."""

    output_class = TFMaskedLMOutput
    scope_names = {"cls": "mlm___cls"}  # the HF 4.x name of this scope in tf_model.h5

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.attach_main_layer(add_pooling_layer=False)
        self.cls = TFBertOnlyMLMHead(config, self.main_layer.embeddings.word_embeddings, name="mlm___cls")

    def forward(self, features, flags, training):
        base = self.main_layer(**features, **flags, training=training)
        logits = self.cls(base.last_hidden_state)
        return TFMaskedLMOutput(None, logits, base.hidden_states, base.attentions)

    def task_loss(self, labels, outputs):
        return _masked_cross_entropy(labels, outputs.logits)


class TFBertForMultipleChoice(TFBertPreTrainedModel):
    """Inputs (B, C, T): each choice's pooled output -> dropout -> Linear(1); logits (B, C)."""

    output_class = TFMultipleChoiceModelOutput

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.attach_main_layer()
        self.dropout = keras.layers.Dropout(self.classifier_dropout_rate())
        self.classifier = _dense(1, config, "classifier")

    @property
    def dummy_inputs(self):
        return {"input_ids": tf.constant([[[7, 6, 0, 1], [1, 2, 3, 0]]] * 2, dtype=tf.int32)}

    def forward(self, features, flags, training):
        choices = tf.shape(features["input_ids"])[1]
        flat = {key: tf.reshape(value, (-1, tf.shape(value)[-1])) for key, value in features.items()}  # (B*C, T)
        base = self.main_layer(**flat, **flags, training=training)
        scores = self.classifier(self.dropout(base.pooler_output, training=training))  # (B*C, 1)
        logits = tf.reshape(scores, (-1, choices))  # (B, C)
        return TFMultipleChoiceModelOutput(None, logits, base.hidden_states, base.attentions)

    def task_loss(self, labels, outputs):
        return _masked_cross_entropy(labels, outputs.logits)
