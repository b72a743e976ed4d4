"""Weight files shared by the PyTorch and TensorFlow sides, read and written as numpy arrays.

No framework is imported at module level: reading ``tf_model.h5`` needs only h5py, reading
``model.safetensors`` only safetensors, so a PyTorch user can load TensorFlow weights without
TensorFlow installed (``load_tf_weights_into_pt_state_dict``), and the TensorFlow side reads
PyTorch safetensors without torch (torch is imported only for legacy ``pytorch_model.bin`` files).

``tf_model.h5`` layout (the HDF5 weights layout of Keras 2 ``save_weights``, as HF transformers 4.x wrote it,
so files move both ways between tuneformers and HF 4.x TF models)::

    /                      attrs: layer_names = [b"bert", b"classifier"], backend, keras_version
    /bert                  attrs: weight_names = [b"tf_bert_for_sequence_classification/bert/embeddings/word_embeddings/weight:0", ...]
    /bert/tf_bert_for_sequence_classification/bert/embeddings/word_embeddings/weight:0    dataset (30522, 384)
    ...

Weight names inside a top-level layer group start with the Keras model's scope, which readers drop.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .constants import CONFIG_NAME, PT_WEIGHT_FILES, TF_WEIGHTS_NAME
from .utils import get_logger, require

logger = get_logger(__name__)



# ---- weight-name maps, one per model family ---------------------------------------------------------


class WeightNameMap(NamedTuple):
    """How one family's PyTorch parameter names and TensorFlow weight names translate (pure string functions)."""

    pt_to_tf: Callable[[str], tuple[str, bool]]
    """PyTorch name -> (TF name, whether the array is transposed)."""
    tf_to_pt: Callable[[str], tuple[str, bool]]
    """TF name (model scope and ``:0`` optional) -> (PyTorch name, transposed?)."""
    is_pt_only: Callable[[str], bool]
    """True for PyTorch entries a TF model does not store (tied or derived tensors)."""


WEIGHT_NAME_MAPS: dict[str, WeightNameMap] = {}


def register_weight_name_map(model_type: str, name_map: WeightNameMap) -> None:
    """Called by each family's ``convert_<family>.py``, so that this generic module knows no family."""
    WEIGHT_NAME_MAPS[model_type] = name_map


def get_weight_name_map(model_type: str) -> WeightNameMap:
    if model_type not in WEIGHT_NAME_MAPS:
        raise ValueError(
            f"Cannot convert weights between PyTorch and TensorFlow for model_type={model_type!r}: no weight-name "
            f"map is registered for it (known: {sorted(WEIGHT_NAME_MAPS)}). Load the weights in the framework "
            "they were saved from."
        )
    return WEIGHT_NAME_MAPS[model_type]


def strip_model_scope(stored_name: str) -> str:
    """``tf_bert_model/bert/embeddings/.../weight:0`` -> ``bert/embeddings/.../weight``."""
    parts = stored_name.removesuffix(":0").split("/")
    return "/".join(parts[1:]) if len(parts) > 1 else parts[0]


# ---- tf_model.h5 ----------------------------------------------------------------------------------


def _read_string_list(attrs, name: str) -> list[str]:
    """An HDF5 string-list attribute, including the chunked form (name0, name1, ...) Keras 2 used past 64 KB."""
    if name in attrs:
        values = list(attrs[name])
    else:
        values, chunk = [], 0
        while f"{name}{chunk}" in attrs:
            values.extend(attrs[f"{name}{chunk}"])
            chunk += 1
    return [value.decode("utf-8") if isinstance(value, bytes) else str(value) for value in values]


def read_tf_h5_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """``tf_model.h5`` -> {TF weight name without model scope and ``:0`` (``bert/embeddings/...``): array}."""
    h5py = require("h5py", "tf", "Reading TensorFlow weights (tf_model.h5)")

    path = Path(path)
    weights: dict[str, np.ndarray] = {}
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise OSError(f"{path} is not a readable HDF5 file ({error}). Re-save the TF model.") from error
    with handle:
        layer_names = _read_string_list(handle.attrs, "layer_names")
        if not layer_names:
            raise ValueError(
                f"{path} has no 'layer_names' attribute, so it is not a Keras/HF TF weights file "
                "(sharded TF checkpoints and Keras 3 '.weights.h5' files are not supported). "
                "Load the PyTorch weights with from_pt=True instead."
            )
        for layer_name in layer_names:
            group = _h5_entry_inside(handle, layer_name, path)
            for weight_name in _read_string_list(group.attrs, "weight_names"):
                weights[strip_model_scope(weight_name)] = np.asarray(_h5_entry_inside(group, weight_name, path))
    return weights


def _h5_entry_inside(group, name: str, path: Path):
    """``group[name]``, refusing any link (external, soft) on the way and data stored outside the file.

    Keras writes only plain groups and datasets; an HDF5 external link or an external / virtual dataset
    would make h5py read another file on this machine.
    """
    import h5py

    node = group
    for part in name.strip("/").split("/"):
        link = node.get(part, getlink=True)
        if link is None:
            raise ValueError(f"{path} lists the weight {name!r} but holds no such entry. Re-save the TF model.")
        if not isinstance(link, h5py.HardLink):
            target = getattr(link, "filename", None) or getattr(link, "path", "")
            raise OSError(f"Refused to load {path}: its entry {name!r} is an HDF5 {type(link).__name__} "
                          f"(to {target!r}); a weights file must hold its data itself. Nothing was read through it.")
        node = node[part]
    if isinstance(node, h5py.Dataset) and (node.external or node.is_virtual):
        raise OSError(f"Refused to load {path}: the dataset {name!r} keeps its data outside the file "
                      "(external or virtual storage); a weights file must hold its data itself.")
    return node


def write_tf_h5_weights(path: str | os.PathLike, model_scope: str, weights: dict[str, np.ndarray],
                        keras_version: str = "") -> None:
    """Write {``bert/embeddings/...``: array} as ``tf_model.h5`` in the layout above (atomically)."""
    h5py = require("h5py", "tf", "Writing TensorFlow weights (tf_model.h5)")
    from .utils import atomic_path

    by_layer: dict[str, list[str]] = {}
    for name in weights:
        by_layer.setdefault(name.split("/")[0], []).append(name)
    with atomic_path(path) as temp_path:
        with h5py.File(temp_path, "w") as handle:
            handle.attrs["layer_names"] = [layer.encode("utf-8") for layer in by_layer]
            handle.attrs["backend"] = b"tensorflow"
            handle.attrs["keras_version"] = keras_version.encode("utf-8")
            for layer, names in by_layer.items():
                group = handle.create_group(layer)
                stored = [f"{model_scope}/{name}:0" for name in names]
                group.attrs["weight_names"] = [name.encode("utf-8") for name in stored]
                for stored_name, name in zip(stored, names):
                    group.create_dataset(stored_name, data=np.asarray(weights[name]))


# ---- PyTorch weight files -------------------------------------------------------------------------


def find_pt_weights(folder: str | os.PathLike) -> Path | None:
    folder = Path(folder)
    for name in PT_WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def load_torch_pickle(path: str | os.PathLike, map_location: object = "cpu") -> object:
    """``torch.load(path, weights_only=True)``: tensors, numbers and containers only, never pickled code.

    Anything else is refused with an OSError that names the file and never suggests ``weights_only=False``;
    a damaged file is an OSError naming it too.
    """
    import pickle

    torch = require("torch", "torch", f"Reading the PyTorch pickle {Path(path).name}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as error:
        if "weights only" in str(error).lower() or "weights_only" in str(error):  # torch's refusal
            raise OSError(
                f"Refused to load {path}: it contains pickled Python objects other than tensors, and unpickling them "
                "could run arbitrary code. If you trust the file, convert it to safetensors where you trust it; "
                "nothing from it was executed here."
            ) from None
        raise OSError(f"{path} is truncated or damaged, or not a PyTorch checkpoint "
                      f"({str(error).splitlines()[0]}).") from error


def load_torch_state_dict(path: str | os.PathLike) -> dict:
    """A ``pytorch_model.bin``-style file through :func:`load_torch_pickle`; it must map names to tensors."""
    import torch

    state_dict = load_torch_pickle(path)
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise OSError(f"{path} does not hold a state dict (a mapping of names to tensors).")
    return state_dict


def shard_files(index_path: str | os.PathLike) -> list[Path]:
    """The shard files a ``*.index.json`` lists, each a plain name inside the index's own folder."""
    index_path = Path(index_path)
    try:
        weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
        names = sorted(set(weight_map.values()))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as error:
        raise OSError(f"{index_path} is not a valid shard index (needs a 'weight_map' object of names to shard "
                      f"files): {error}") from error
    files = []
    for name in names:
        if not isinstance(name, str) or not name or os.path.isabs(name) or ".." in Path(name).parts:
            raise OSError(f"Refused to load {index_path}: it lists the shard {name!r}, which is not a file inside "
                          f"{index_path.parent}. Shards must sit beside the index; nothing was read from that path.")
        if not (index_path.parent / name).is_file():
            raise OSError(f"{index_path} lists shard {name}, which is missing from {index_path.parent}.")
        files.append(index_path.parent / name)
    return files


def load_pt_weights(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """PyTorch weights of a model folder as {state-dict name: array}; safetensors need no torch."""
    path = find_pt_weights(folder)
    if path is None:
        raise FileNotFoundError(f"No PyTorch weights ({', '.join(PT_WEIGHT_FILES)}) in {folder}.")
    files = shard_files(path) if path.name.endswith(".index.json") else [path]
    weights: dict[str, np.ndarray] = {}
    for file in files:
        if file.suffix == ".safetensors":
            from safetensors.numpy import load_file

            weights.update(load_file(file))
        else:
            state_dict = load_torch_state_dict(file)
            weights.update({name: tensor.float().numpy() if tensor.is_floating_point() else tensor.numpy()
                            for name, tensor in state_dict.items()})
    return weights


# ---- conversions ----------------------------------------------------------------------------------


def pt_weights_to_tf(pt_weights: dict[str, np.ndarray], model_type: str) -> dict[str, np.ndarray]:
    """{PyTorch name: array} -> {TF name: array}, transposing Linear weights; drops tied / PT-only entries."""
    name_map = get_weight_name_map(model_type)
    converted = {}
    for name, array in pt_weights.items():
        if name_map.is_pt_only(name):
            continue
        tf_name, transpose = name_map.pt_to_tf(name)
        converted[tf_name] = np.ascontiguousarray(array.T) if transpose else array
    return converted


def tf_weights_to_pt(tf_weights: dict[str, np.ndarray], model_type: str) -> dict[str, np.ndarray]:
    """{TF name: array} -> {PyTorch name: array}, transposing Dense kernels."""
    name_map = get_weight_name_map(model_type)
    converted = {}
    for name, array in tf_weights.items():
        pt_name, transpose = name_map.tf_to_pt(name)
        converted[pt_name] = np.ascontiguousarray(array.T) if transpose else array
    return converted


def load_tf_weights_into_pt_state_dict(folder: str | os.PathLike, model_type: str | None = None) -> dict[str, np.ndarray]:
    """The ``tf_model.h5`` of a model folder as a PyTorch state dict of numpy arrays (needs h5py, not TF).

    Names are those of the PyTorch head classes (``bert.embeddings...``, ``classifier.weight``,
    ``cls.predictions.bias``): a bare ``BertModel`` drops the ``bert.`` prefix, as for any head
    checkpoint. The MLM decoder is not included: it is tied to ``bert.embeddings.word_embeddings.weight``
    (and ``cls.predictions.decoder.bias`` to ``cls.predictions.bias``).
    """
    path = Path(folder) / TF_WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"from_tf=True needs {TF_WEIGHTS_NAME} in {folder}, but there is none. "
            "Save the model with a TF model's save_pretrained(), or drop from_tf=True to load PyTorch weights."
        )
    if model_type is None:  # the family whose name map applies, from the folder's config
        config_file = Path(folder) / CONFIG_NAME
        if not config_file.is_file():
            raise FileNotFoundError(f"{folder} has no {CONFIG_NAME}, so the model family of {TF_WEIGHTS_NAME} is unknown; "
                                    "pass model_type=... or save the config beside the weights.")
        model_type = json.loads(config_file.read_text(encoding="utf-8")).get("model_type", "")
    return tf_weights_to_pt(read_tf_h5_weights(path), model_type)


load_tf_weights_as_pt_state_dict = load_tf_weights_into_pt_state_dict  # the name PreTrainedModel.from_pretrained calls
