"""Model name resolution: local folders, packaged models, the HF cache layout, offline errors."""

from __future__ import annotations

import pytest

from tuneformers.hub import resolve_model_dir


def test_local_folder_is_used_as_is(tmp_path):
    assert resolve_model_dir(tmp_path) == tmp_path
    assert resolve_model_dir(str(tmp_path)) == tmp_path


def test_packaged_model_by_hub_id_and_short_name(minilm_dir):
    assert resolve_model_dir("sentence-transformers/all-MiniLM-L6-v2") == minilm_dir
    assert resolve_model_dir("all-MiniLM-L6-v2") == minilm_dir


def test_hf_cache_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--some-org--tiny-bert"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    assert resolve_model_dir("some-org/tiny-bert", cache_dir=tmp_path) == snapshot
    assert resolve_model_dir("some-org/tiny-bert", cache_dir=tmp_path, revision=revision) == snapshot


def test_offline_error_says_how_to_get_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match="Could not find model 'some-org/absent'.*offline.*huggingface-cli download some-org/absent"):
        resolve_model_dir("some-org/absent", cache_dir=tmp_path)
    with pytest.raises(OSError, match="local_files_only|offline"):
        resolve_model_dir("some-org/absent", cache_dir=tmp_path, local_files_only=True)


def test_unreachable_hub_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(OSError, match="Could not find model 'some-org/absent'.*hub could not be reached"):
        resolve_model_dir("some-org/absent", cache_dir=tmp_path)


def test_missing_path_and_file_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_model_dir(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_model_dir("./not-here")
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="is a file"):
        resolve_model_dir(tmp_path / "weights.bin")
    with pytest.raises(TypeError, match="model name or folder path"):
        resolve_model_dir(42)
