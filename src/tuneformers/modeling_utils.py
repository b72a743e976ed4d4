"""PreTrainedModel: load and save HF-format checkpoint folders for our PyTorch models.

Loading never executes pickled code: safetensors first, and ``pytorch_model.bin`` only through
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from .configuration_utils import PretrainedConfig
from .typed_dataclass import unknown_keyword_message
from .constants import SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME, TF_WEIGHTS_NAME, WEIGHTS_INDEX_NAME, WEIGHTS_NAME
from .hub import HUB_KWARGS, resolve_model_dir, split_hub_kwargs
from .modeling_tf_pytorch_utils import load_torch_state_dict
from .utils import atomic_path, get_logger

logger = get_logger(__name__)


# Checkpoint keys that older HF versions saved as buffers; they hold nothing to load.
IGNORED_CHECKPOINT_SUFFIXES = ("position_ids",)

_weight_init_enabled = True


@contextlib.contextmanager
def _no_weight_init() -> Iterator[None]:
    """Build a model without random initialisation, for weights that are about to be overwritten."""
    global _weight_init_enabled
    previous, _weight_init_enabled = _weight_init_enabled, False
    try:
        yield
    finally:
        _weight_init_enabled = previous


@dataclasses.dataclass
class LoadReport:
    missing: list[str]
    unexpected: list[str]
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]]


class PreTrainedModel(nn.Module):
    """Base of every model: config handling, weight initialisation, from_pretrained / save_pretrained."""

    config_class: ClassVar[type[PretrainedConfig]] = PretrainedConfig
    base_model_prefix: ClassVar[str] = ""
    tied_weights: ClassVar[dict[str, str]] = {}
    """Parameter name -> the name of the parameter it shares storage with (not saved, not reported missing)."""

    def __init__(self, config: PretrainedConfig):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}. "
                f"Build one with {self.config_class.__name__}(...) or {self.config_class.__name__}.from_pretrained(...)."
            )
        self.config = config
        self.name_or_path: str | None = None

    # ---- structure ----------------------------------------------------------------------------

    @property
    def base_model(self) -> nn.Module:
        """The encoder without task heads (e.g. to freeze it)."""
        return getattr(self, self.base_model_prefix, self)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(p.dtype for p in self.parameters() if p.is_floating_point())

    def get_input_embeddings(self) -> nn.Embedding:
        base = self.base_model
        if base is self:
            raise NotImplementedError(f"{type(self).__name__} must define get_input_embeddings().")
        return base.get_input_embeddings()

    def set_input_embeddings(self, embeddings: nn.Embedding) -> None:
        """Replace the word-embedding table (wherever the family keeps it), then re-tie tied weights."""
        name = self._module_name(self.get_input_embeddings())
        parent_name, _, attribute = name.rpartition(".")
        setattr(self.get_submodule(parent_name), attribute, embeddings)
        self.tie_weights()

    def get_output_embeddings(self) -> nn.Module | None:
        """The vocabulary projection tied to the input embeddings (an MLM decoder), or None for other heads."""
        source = self._module_name(self.get_input_embeddings()) + ".weight"
        for target, tied_to in self.tied_weights.items():
            if tied_to.removeprefix(f"{self.base_model_prefix}.") == source.removeprefix(f"{self.base_model_prefix}."):
                return self.get_submodule(target.rpartition(".")[0])
        return None

    @torch.no_grad()
    def resize_token_embeddings(self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None,
                                ) -> nn.Embedding:
        """Grow (or shrink) the vocabulary to ``new_num_tokens`` rows, e.g. after ``tokenizer.add_tokens``.

        Old rows keep their values, new rows are initialised like the model's other embeddings; a tied decoder
        and its bias follow; ``config.vocab_size`` is updated.
        """
        old = self.get_input_embeddings()
        if new_num_tokens is None:
            return old
        if pad_to_multiple_of:
            new_num_tokens = -(-new_num_tokens // pad_to_multiple_of) * pad_to_multiple_of
        if new_num_tokens < 1:
            raise ValueError(f"resize_token_embeddings needs a positive number of tokens, got {new_num_tokens}.")
        old_num_tokens = old.num_embeddings
        padding_idx = old.padding_idx if old.padding_idx is not None and old.padding_idx < new_num_tokens else None
        new = nn.Embedding(new_num_tokens, old.embedding_dim, padding_idx=padding_idx,
                           device=old.weight.device, dtype=old.weight.dtype)
        self._init_weights(new)
        kept = min(old_num_tokens, new_num_tokens)
        new.weight[:kept] = old.weight[:kept]
        for name, parameter in list(self.named_parameters(remove_duplicate=False)):
            module_name, _, attribute = name.rpartition(".")
            if attribute == "bias" and parameter.dim() == 1 and parameter.shape[0] == old_num_tokens:
                resized = torch.zeros(new_num_tokens, device=parameter.device, dtype=parameter.dtype)
                resized[:kept] = parameter[:kept]
                setattr(self.get_submodule(module_name), attribute, nn.Parameter(resized))
        decoder = self.get_output_embeddings()
        if isinstance(decoder, nn.Linear):
            decoder.out_features = new_num_tokens
        self.set_input_embeddings(new)
        self.config.vocab_size = new_num_tokens
        return new

    def _module_name(self, module: nn.Module) -> str:
        for name, candidate in self.named_modules():
            if candidate is module:
                return name
        raise ValueError(f"{type(module).__name__} is not a submodule of {type(self).__name__}.")

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        embedding_ids = {id(m.weight) for m in self.modules() if isinstance(m, nn.Embedding)}
        return sum(
            p.numel()
            for p in self.parameters()  # shared (tied) parameters are yielded once
            if (p.requires_grad or not only_trainable) and not (exclude_embeddings and id(p) in embedding_ids)
        )

    def gradient_checkpointing_enable(self) -> None:
        for module in self.modules():
            if hasattr(module, "gradient_checkpointing"):
                module.gradient_checkpointing = True

    # ---- initialisation -----------------------------------------------------------------------

    def _init_weights(self, module: nn.Module) -> None:
        raise NotImplementedError

    def post_init(self) -> None:
        """Initialise every module not initialised yet (nested models are built first), then tie weights."""
        if _weight_init_enabled:
            for module in self.modules():
                if not getattr(module, "_tuneformers_initialized", False):
                    self._init_weights(module)
                    module._tuneformers_initialized = True
        self.tie_weights()

    def tie_weights(self) -> None:
        """Re-point tied parameters at their source; families with tied weights override this."""

    @torch.no_grad()
    def _init_missing(self, missing: list[str]) -> None:
        by_module: dict[str, set[str]] = {}
        for key in missing:
            module_name, _, param_name = key.rpartition(".")
            by_module.setdefault(module_name, set()).add(param_name)
        for module_name, param_names in by_module.items():
            module = self.get_submodule(module_name)
            kept = {
                name: tensor.detach().clone()
                for name, tensor in module.named_parameters(recurse=False)
                if name not in param_names
            }
            for name in param_names:
                getattr(module, name).zero_()
            self._init_weights(module)
            for name, tensor in kept.items():
                getattr(module, name).copy_(tensor)

    # ---- loading ------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        config: PretrainedConfig | None = None,
        torch_dtype: torch.dtype | str | None = None,
        ignore_mismatched_sizes: bool = False,
        from_tf: bool = False,
        **kwargs: Any,
    ) -> PreTrainedModel:
        """Load a model from a folder, the HF cache, a packaged model or the hub.

        Other keyword arguments override config fields (``num_labels=2``, ``problem_type=...``,
        ``hidden_dropout_prob=0.2``); an unknown keyword is an error. Weights the checkpoint lacks
        (e.g. a new classification head) are initialised and listed in one warning. The model is
        returned in eval mode.
        """
        hub_kwargs, kwargs = split_hub_kwargs(kwargs)
        if "dtype" in kwargs:  # the newer HF spelling
            torch_dtype = kwargs.pop("dtype")
        known = cls.config_class.field_names() + ["num_classes"]  # num_classes: read as num_labels by the config
        for key in kwargs:
            if key not in known:
                options = known + ["config", "torch_dtype", "dtype", "ignore_mismatched_sizes", "from_tf", *sorted(HUB_KWARGS)]
                raise TypeError(unknown_keyword_message(key, options, f"{cls.__name__}.from_pretrained argument or config field"))
        folder = resolve_model_dir(name_or_path, **hub_kwargs)
        if config is None:
            config = cls.config_class.from_pretrained(folder, **kwargs)
        elif kwargs:
            config = copy.deepcopy(config)
            config.update(**kwargs)
        state_dict = load_state_dict(folder, from_tf=from_tf, model_type=config.model_type)

        with _no_weight_init(), torch.device("meta"):
            model = cls(config)
        model.to_empty(device="cpu")
        model.tie_weights()
        report = model._load_state_dict_checked(state_dict, ignore_mismatched_sizes, source=folder)
        model._init_missing(report.missing + [key for key, _, _ in report.mismatched])
        model.tie_weights()
        _log_load_report(cls.__name__, folder, report)

        dtype = _resolve_dtype(torch_dtype, state_dict)
        if dtype is not None:
            model.to(dtype)
        model.name_or_path = str(name_or_path)
        return model.eval()

    def _load_state_dict_checked(
        self, state_dict: dict[str, torch.Tensor], ignore_mismatched_sizes: bool, source: Path
    ) -> LoadReport:
        expected = self.state_dict()
        state_dict = _normalise_checkpoint_keys(state_dict, set(expected), self.base_model_prefix)
        mismatched = []
        for key, tensor in list(state_dict.items()):
            if key in expected and tensor.shape != expected[key].shape:
                mismatched.append((key, tuple(tensor.shape), tuple(expected[key].shape)))
                del state_dict[key]
        if mismatched and not ignore_mismatched_sizes:
            details = "; ".join(f"{key}: checkpoint {shape} vs model {model_shape}" for key, shape, model_shape in mismatched)
            hint = ""
            if any(key.endswith(("classifier.weight", "classifier.bias")) for key, _, _ in mismatched):
                hint = " The checkpoint's classification head has a different number of labels than num_labels."
            raise ValueError(
                f"Shape mismatch loading {source}: {details}.{hint} Pass ignore_mismatched_sizes=True to "
                "re-initialise these weights instead (they then need training)."
            )
        unexpected = sorted(key for key in state_dict if key not in expected and not key.endswith(IGNORED_CHECKPOINT_SUFFIXES))
        loadable = {key: tensor for key, tensor in state_dict.items() if key in expected}
        self.load_state_dict(loadable, strict=False)
        missing = sorted(key for key in expected if key not in loadable and key not in self.tied_weights)
        return LoadReport(missing, unexpected, mismatched)

    def load_weights_from(self, folder: str | os.PathLike, ignore_mismatched_sizes: bool = True) -> LoadReport:
        """Load the weights of a model folder into this model in place (heads it lacks keep their values).

        What the Trainer does with ``resume_from_checkpoint=<model folder>``; the report is logged.
        """
        folder = Path(folder)
        report = self._load_state_dict_checked(load_state_dict(folder), ignore_mismatched_sizes, source=folder)
        self.tie_weights()
        _log_load_report(type(self).__name__, folder, report)
        return report

    # ---- saving -------------------------------------------------------------------------------

    def save_pretrained(self, save_directory: str | os.PathLike, safe_serialization: bool = True,
                        state_dict: dict[str, torch.Tensor] | None = None) -> Path:
        """Write config.json and model.safetensors (or pytorch_model.bin), each atomically; returns the folder.

        ``state_dict`` replaces the model's own weights (e.g. the full weights gathered from a sharded model)."""
        from safetensors.torch import save_file

        folder = Path(save_directory)
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"save_pretrained needs a folder, but {folder} is a file.")
        folder.mkdir(parents=True, exist_ok=True)
        config = copy.deepcopy(self.config)
        config.architectures = [own_class(self).__name__]
        state_dict = {
            key: tensor.detach().to("cpu").contiguous()
            for key, tensor in (self.state_dict() if state_dict is None else state_dict).items()
            if key not in self.tied_weights
        }
        if safe_serialization:
            with atomic_path(folder / SAFE_WEIGHTS_NAME) as temp_path:
                save_file(state_dict, str(temp_path), metadata={"format": "pt"})
        else:
            with atomic_path(folder / WEIGHTS_NAME) as temp_path:
                torch.save(state_dict, temp_path)
        config.save_pretrained(folder)
        return folder


def own_class(model: nn.Module) -> type:
    """The model's class as written (FSDP2's fully_shard swaps in a subclass named FSDP<class>)."""
    for cls in type(model).__mro__:
        if not any(base.__name__ == "FSDPModule" for base in cls.__mro__):
            return cls
    return type(model)


# ---- checkpoint files -------------------------------------------------------------------------


def load_state_dict(folder: Path, from_tf: bool = False, model_type: str | None = None) -> dict[str, torch.Tensor]:
    """Read the weights of an HF-format folder, whichever of the known layouts it uses."""
    if from_tf:
        from .modeling_tf_pytorch_utils import load_tf_weights_into_pt_state_dict

        return {key: torch.from_numpy(array) for key, array in load_tf_weights_into_pt_state_dict(folder, model_type).items()}
    if (folder / SAFE_WEIGHTS_NAME).is_file():
        return _load_safetensors(folder / SAFE_WEIGHTS_NAME)
    if (folder / SAFE_WEIGHTS_INDEX_NAME).is_file():
        return _load_sharded(folder / SAFE_WEIGHTS_INDEX_NAME, _load_safetensors)
    if (folder / WEIGHTS_NAME).is_file():
        return load_torch_state_dict(folder / WEIGHTS_NAME)
    if (folder / WEIGHTS_INDEX_NAME).is_file():
        return _load_sharded(folder / WEIGHTS_INDEX_NAME, load_torch_state_dict)
    if (folder / TF_WEIGHTS_NAME).is_file():
        raise OSError(
            f"{folder} holds only TensorFlow weights ({TF_WEIGHTS_NAME}). Load them with from_pretrained(..., from_tf=True) "
            "(needs pip install 'tuneformers[tf]')."
        )
    raise OSError(
        f"No model weights in {folder}: looked for {SAFE_WEIGHTS_NAME}, {SAFE_WEIGHTS_INDEX_NAME}, {WEIGHTS_NAME}, "
        f"{WEIGHTS_INDEX_NAME} and {TF_WEIGHTS_NAME}. Point to the folder save_pretrained wrote."
    )


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise OSError(f"Could not read {path}: the file is corrupt or truncated ({error}). Re-save or re-download it.") from error


def _load_sharded(index_path: Path, load_shard) -> dict[str, torch.Tensor]:
    from .modeling_tf_pytorch_utils import shard_files

    state_dict: dict[str, torch.Tensor] = {}
    for shard_path in shard_files(index_path):
        state_dict.update(load_shard(shard_path))
    return state_dict


def _normalise_checkpoint_keys(
    state_dict: dict[str, torch.Tensor], model_keys: set[str], prefix: str
) -> dict[str, torch.Tensor]:
    """Map legacy names (LayerNorm gamma/beta) and add or strip the base-model prefix to match the model."""

    def modern(key: str) -> str:
        if key.endswith(".gamma"):
            return key[: -len("gamma")] + "weight"
        if key.endswith(".beta"):
            return key[: -len("beta")] + "bias"
        return key

    state_dict = {modern(key): tensor for key, tensor in state_dict.items()}
    if not prefix:
        return state_dict
    dotted = prefix + "."
    model_has_prefix = any(key.startswith(dotted) for key in model_keys)
    checkpoint_has_prefix = any(key.startswith(dotted) for key in state_dict)
    if model_has_prefix and not checkpoint_has_prefix:
        return {(dotted + key if dotted + key in model_keys else key): t for key, t in state_dict.items()}
    if checkpoint_has_prefix and not model_has_prefix:
        return {(key[len(dotted):] if key.startswith(dotted) else key): t for key, t in state_dict.items()}
    return state_dict


def _log_load_report(class_name: str, source: Path, report: LoadReport) -> None:
    if report.missing:
        logger.warning(
            "Some weights of %s were not in the checkpoint at %s and were newly initialised: %s. "
            "Train the model on a downstream task before using it for predictions.",
            class_name, source, report.missing,
        )
    if report.mismatched:
        logger.warning(
            "Some weights of %s had other shapes in the checkpoint at %s and were re-initialised: %s.",
            class_name, source, [f"{key}: {shape} -> {model_shape}" for key, shape, model_shape in report.mismatched],
        )
    if report.unexpected:
        logger.warning(
            "Some weights in the checkpoint at %s are not used by %s: %s. This is expected when the checkpoint "
            "was trained with other heads.",
            source, class_name, report.unexpected,
        )


_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}


def _resolve_dtype(torch_dtype: torch.dtype | str | None, state_dict: dict[str, torch.Tensor]) -> torch.dtype | None:
    if torch_dtype is None or isinstance(torch_dtype, torch.dtype):
        return torch_dtype
    if torch_dtype == "auto":
        return next((t.dtype for t in state_dict.values() if t.is_floating_point()), None)
    if torch_dtype in _DTYPES:
        return _DTYPES[torch_dtype]
    raise ValueError(f"torch_dtype={torch_dtype!r} is not supported; use a torch.dtype, 'auto' or one of {sorted(_DTYPES)}.")
