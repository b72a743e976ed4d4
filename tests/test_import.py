"""The no-torch layer stays framework-free, and `import tuneformers` stays fast and lazy."""

from __future__ import annotations

import subprocess
import sys

import pytest

NO_FRAMEWORK_MODULES = [
    "tuneformers",
    "tuneformers.configuration_utils",
    "tuneformers.models.bert.configuration_bert",
    "tuneformers.models.auto.configuration_auto",
    "tuneformers.hub",
    "tuneformers.utils",
]


def imported_frameworks(statement: str) -> str:
    code = f"{statement}\nimport sys\nprint(sorted(m for m in ('torch', 'tensorflow', 'keras', 'transformers') if m in sys.modules))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("module", NO_FRAMEWORK_MODULES)
def test_no_torch_layer_imports_no_framework(module):
    assert imported_frameworks(f"import {module}") == "[]"


def test_configs_through_public_api_stay_framework_free():
    assert imported_frameworks("import tuneformers as t; t.BertConfig(); t.AutoConfig.for_model('bert')") == "[]"


def test_model_class_imports_torch_lazily():
    assert imported_frameworks("import tuneformers as t; t.BertModel") == "['torch']"


def test_unknown_attribute():
    import tuneformers

    with pytest.raises(AttributeError, match="no attribute 'BertModle'"):
        tuneformers.BertModle  # noqa: B018


def test_every_public_name_resolves():
    import importlib

    import tuneformers

    missing = []
    for module_name, names in tuneformers._LAZY_IMPORTS.items():
        try:
            module = importlib.import_module(f"tuneformers.{module_name}")
        except ImportError as error:
            if "tensorflow" in str(error) or "keras" in str(error):
                continue
            missing.append(f"{module_name}: {error}")
            continue
        missing += [f"{module_name}.{name}" for name in names if not hasattr(module, name)]
    assert not missing
