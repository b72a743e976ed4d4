"""TFPreTrainedModel: Keras 3 models (TensorFlow backend) that load and save pretrained weights.

Weights on disk (see ``modeling_tf_pytorch_utils`` for the byte layout):
- ``tf_model.h5``: TF weights in the layout HF transformers 4.x wrote, read and written with h5py,
  so files move both ways between tuneformers, HF 4.x TF models and our PyTorch models (``from_tf=True``).
- ``model.safetensors`` / ``pytorch_model.bin``: PyTorch weights, converted on load with ``from_pt=True``
  (automatic, with a log line, when a folder has no ``tf_model.h5``).

Keras integration: ``model.compile(optimizer=...)`` without a loss trains on the model's own task loss
(labels as ``y`` or under ``"labels"`` in the features dict); with a Keras loss, the loss and metrics are
applied to the logits. ``model.predict`` returns the output class with numpy fields.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .utils import get_logger, require

tf = require("tensorflow", "tf", "TensorFlow models")
keras = require("keras", "tf", "TensorFlow models")
if int(keras.__version__.split(".")[0]) < 3:  # pragma: no cover - guarded by the tf extra's pins
    raise ImportError(f"tuneformers TF models need Keras 3, found keras {keras.__version__}: pip install 'tuneformers[tf]'")

from .configuration_utils import PretrainedConfig  # noqa: E402
from .hub import resolve_model_dir, split_hub_kwargs  # noqa: E402
from .modeling_outputs import (  # noqa: E402
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    ModelOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from .constants import TF_WEIGHTS_NAME  # noqa: E402
from .modeling_tf_pytorch_utils import (  # noqa: E402
    find_pt_weights,
    load_pt_weights,
    pt_weights_to_tf,
    read_tf_h5_weights,
    write_tf_h5_weights,
)

logger = get_logger(__name__)


# ---- outputs ----------------------------------------------------------------------------------------


# The PyTorch output classes serve TensorFlow too (ModelOutput imports no framework); these are their TF names.
TFModelOutput = ModelOutput
TFBaseModelOutputWithPooling = BaseModelOutputWithPooling
TFSequenceClassifierOutput = SequenceClassifierOutput
TFTokenClassifierOutput = TokenClassifierOutput
TFMultipleChoiceModelOutput = MultipleChoiceModelOutput
TFMaskedLMOutput = MaskedLMOutput
TFQuestionAnsweringModelOutput = QuestionAnsweringModelOutput


# ---- weight names -----------------------------------------------------------------------------------


def named_weights(layer: keras.layers.Layer, prefix: str = "") -> Iterator[tuple[str, keras.Variable]]:
    """(TF name, variable) pairs named by the attribute path, e.g. ``bert/encoder/layer_._0/attention/self/query/kernel``.

    Keras' own variable paths depend on creation order and uniquified layer names; these names depend only
    on the module tree, which mirrors the PyTorch one. A layer may rename an attribute's scope through its
    ``scope_names`` class attribute (HF 4.x called the MLM head ``mlm___cls``). Attributes starting with ``_``
    (such as a head's reference to the tied word embeddings) are not walked.
    """
    join = (lambda name: f"{prefix}/{name}") if prefix else (lambda name: name)
    if isinstance(layer, (keras.layers.Dense, keras.layers.LayerNormalization)):
        for variable in layer.weights:
            yield join(variable.name), variable
        return
    scope_names = getattr(layer, "scope_names", {})
    for attribute, value in vars(layer).items():
        if attribute.startswith("_"):
            continue
        scope = scope_names.get(attribute, attribute)
        if isinstance(value, keras.Variable):
            yield join(value.name), value
        elif isinstance(value, keras.layers.Layer):
            yield from named_weights(value, join(scope))
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                if isinstance(item, keras.layers.Layer):
                    yield from named_weights(item, join(f"{scope}_._{index}"))


def _snake_case(name: str) -> str:
    """TFBertForMaskedLM -> tf_bert_for_masked_lm (the Keras scope HF 4.x used)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


# ---- the base class ---------------------------------------------------------------------------------


class TFPreTrainedModel(keras.Model):
    """Base of the TF models: config, weight loading/saving, and the Keras loss/metrics/predict hooks.

    Subclasses set ``config_class``, ``base_model_prefix``, ``output_class`` and ``dummy_inputs``, and
    implement ``call`` (returning ``output_class``) and ``task_loss(labels, outputs)``.
    """

    config_class: ClassVar[type[PretrainedConfig]] = PretrainedConfig
    base_model_prefix: ClassVar[str] = ""
    output_class: ClassVar[type[TFModelOutput]] = TFModelOutput

    def __init__(self, config: PretrainedConfig, **kwargs: Any) -> None:
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}. "
                f"Build one with {self.config_class.__name__}(...) or .from_pretrained(folder)."
            )
        kwargs.setdefault("name", _snake_case(type(self).__name__))
        super().__init__(**kwargs)
        self.config = config

    def build(self, *args: Any, **kwargs: Any) -> None:
        """Sub-layers create their variables on the first call (see build_weights); nothing to trace here."""
        self.built = True

    @property
    def dummy_inputs(self) -> dict[str, Any]:
        return {"input_ids": tf.constant([[7, 6, 0, 0, 1], [1, 2, 3, 0, 0], [0, 0, 0, 4, 5]], dtype=tf.int32)}

    def build_weights(self) -> None:
        """Create every variable by running the model once on a tiny batch."""
        if not getattr(self, "_weights_built", False):  # a failed first call can leave sub-layers unbuilt
            self(self.dummy_inputs, training=False)
            self._weights_built = True

    def tf_named_weights(self) -> dict[str, keras.Variable]:
        """{TF weight name: variable}, in the layout of tf_model.h5."""
        self.build_weights()
        return dict(named_weights(self))

    # ---- loading / saving -----------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *,
        config: PretrainedConfig | None = None,
        from_pt: bool = False,
        ignore_mismatched_sizes: bool = False,
        **kwargs: Any,
    ) -> TFPreTrainedModel:
        """Build the model from a folder, packaged model or hub id, and load its weights.

        Reads ``tf_model.h5``; with ``from_pt=True`` (or when the folder has only PyTorch weights) converts
        ``model.safetensors`` / ``pytorch_model.bin``. Other keyword arguments override config fields
        (``num_labels=3``, ``problem_type=...``) or go to the hub (``revision``, ``cache_dir``, ...).
        Build the model inside ``strategy.scope()`` to train it under a tf.distribute strategy.
        """
        hub_kwargs, kwargs = split_hub_kwargs(kwargs)
        folder = resolve_model_dir(pretrained_model_name_or_path, **hub_kwargs)
        if config is None:
            config = cls.config_class.from_pretrained(folder, **kwargs)
        elif kwargs:
            config = cls.config_class.from_dict(config.to_dict(), **kwargs)
        model = cls(config)
        model.build_weights()

        tf_file = folder / TF_WEIGHTS_NAME
        pt_file = find_pt_weights(folder)
        if from_pt or not tf_file.is_file():
            if pt_file is None:
                found = sorted(path.name for path in folder.iterdir())
                raise FileNotFoundError(
                    f"No weights in {folder}: expected {TF_WEIGHTS_NAME} or PyTorch weights "
                    f"(model.safetensors / pytorch_model.bin); found {found}."
                )
            if not from_pt:
                logger.info(f"{folder} has no {TF_WEIGHTS_NAME}; converting the PyTorch weights {pt_file.name} (from_pt=True).")
            weights = pt_weights_to_tf(load_pt_weights(folder), model.config.model_type)
        else:
            weights = read_tf_h5_weights(tf_file)
        model.load_tf_weights(weights, ignore_mismatched_sizes=ignore_mismatched_sizes, source=str(folder))
        return model

    def load_tf_weights(self, weights: dict[str, np.ndarray], *, ignore_mismatched_sizes: bool = False,
                        source: str = "the checkpoint") -> None:
        """Assign {TF name: array}; a base-model checkpoint (no ``bert/`` prefix) loads into any head."""
        variables = self.tf_named_weights()
        prefix = f"{self.base_model_prefix}/"
        if self.base_model_prefix and not any(name.startswith(prefix) for name in weights):
            weights = {prefix + name: array for name, array in weights.items()}
        mismatched = []
        for name, variable in variables.items():
            if name not in weights:
                continue
            array = weights[name]
            if tuple(array.shape) != tuple(variable.shape):
                mismatched.append(f"{name}: checkpoint {tuple(array.shape)} vs model {tuple(variable.shape)}")
                continue
            variable.assign(array.astype(variable.dtype))
        if mismatched and not ignore_mismatched_sizes:
            raise ValueError(
                f"Weights of {source} do not fit {type(self).__name__}: " + "; ".join(mismatched)
                + ". Pass ignore_mismatched_sizes=True to initialize these randomly (e.g. a new num_labels)."
            )
        missing = [name for name in variables if name not in weights]
        unexpected = [name for name in weights if name not in variables]
        if missing or mismatched:
            logger.warning(
                f"{type(self).__name__}: newly initialized from scratch (not in {source}): "
                f"{missing + [entry.split(':')[0] for entry in mismatched]}. Train the model before using it."
            )
        if unexpected:
            logger.info(f"{type(self).__name__}: unused weights of {source}: {unexpected}")

    def save_pretrained(self, save_directory: str | os.PathLike) -> Path:
        """Write ``config.json`` and ``tf_model.h5`` into ``save_directory`` (created if needed)."""
        folder = Path(save_directory)
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"save_pretrained needs a folder, but {folder} is a file.")
        folder.mkdir(parents=True, exist_ok=True)
        self.config.architectures = [type(self).__name__.removeprefix("TF")]
        self.config.save_pretrained(folder)
        weights = {name: variable.numpy() for name, variable in self.tf_named_weights().items()}
        write_tf_h5_weights(folder / TF_WEIGHTS_NAME, self.name, weights, keras_version=keras.__version__)
        return folder

    # ---- Keras hooks ----------------------------------------------------------------------------

    def compile(self, *args: Any, jit_compile: bool | str = False, **kwargs: Any) -> None:
        """Keras compile; XLA is off by default because dynamically padded batches would recompile per length.

        Pass ``jit_compile=True`` (or "auto") when batches are padded to one fixed length.
        """
        super().compile(*args, jit_compile=jit_compile, **kwargs)

    def fit(self, *args: Any, **kwargs: Any):
        """Keras fit; a tf.data.Dataset is used in its own order (shuffle it with dataset.shuffle)."""
        data = args[0] if args else kwargs.get("x")
        if isinstance(data, tf.data.Dataset) and len(args) < 9:
            kwargs.setdefault("shuffle", False)  # Keras ignores shuffle for datasets, but warns when it is True
        return super().fit(*args, **kwargs)

    def task_loss(self, labels: Any, outputs: TFModelOutput) -> tf.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no task loss; compile it with a Keras loss.")

    @staticmethod
    def keras_prediction(outputs: TFModelOutput) -> Any:
        """What Keras losses and metrics see: the logits (start and end logits for question answering)."""
        if isinstance(outputs, TFModelOutput):
            if getattr(outputs, "logits", None) is not None:
                return outputs.logits
            if getattr(outputs, "start_logits", None) is not None:
                return (outputs.start_logits, outputs.end_logits)
        return outputs

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if self._compile_loss is not None:
            return super().compute_loss(x, y, self.keras_prediction(y_pred), sample_weight, training=training)
        if y is not None:
            loss = self.task_loss(y, y_pred)
        elif getattr(y_pred, "loss", None) is not None:
            loss = y_pred.loss
        else:
            raise ValueError(
                f"{type(self).__name__} got no labels to train on. Yield (features, labels) from the dataset, "
                "put the labels under 'labels' in the features dict, or compile with a Keras loss."
            )
        for extra in self.losses:
            loss = loss + tf.cast(tf.reduce_sum(extra), loss.dtype)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return loss / replicas if replicas > 1 else loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if y is None and isinstance(x, dict):
            y = x.get("labels")
        return super().compute_metrics(x, y, self.keras_prediction(y_pred), sample_weight=sample_weight)

    def predict_step(self, data):
        outputs = super().predict_step(data)
        return {name: value for name, value in zip(outputs.keys(), outputs.to_tuple()) if name != "loss"}

    def predict(self, *args: Any, **kwargs: Any) -> TFModelOutput:
        """Keras predict, returned as the model's output class (``.logits`` etc. as numpy arrays)."""
        return self.output_class(**super().predict(*args, **kwargs))
