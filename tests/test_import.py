"""The no-torch layer stays framework-free, and `import tuneformers` stays fast and lazy."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys

import pytest

# The framework layers, by module name; every other module of the package is the no-torch layer.
TORCH_LAYER = re.compile(r"tuneformers\.(modeling_utils|modeling_layers|modeling_heads|optimization|data\.torch_dataset|trainer\.(trainer|checkpoint|utils|distributed|mlm_metrics)"
                         r"|pipelines(\.\w+)?"
                         r"|models\.\w+\.modeling_(?!tf_)\w+|models\.auto\.modeling_auto)$")
TF_LAYER = re.compile(r"tuneformers\.(modeling_tf_utils|optimization_tf|trainer_tf|data\.processors\.glue_tf"
                      r"|models\.\w+\.modeling_tf_\w+)$")


def package_modules() -> list[str]:
    import tuneformers

    return sorted(module.name for module in pkgutil.walk_packages(tuneformers.__path__, "tuneformers.")
                  if module.name != "tuneformers.__main__")


def imported_frameworks(statement: str) -> str:
    code = f"{statement}\nimport sys\nprint(sorted(m for m in ('torch', 'tensorflow', 'keras', 'transformers') if m in sys.modules))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def import_all(modules: list[str]) -> str:
    return imported_frameworks("import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules))


def test_the_no_torch_layer_imports_no_framework():
    """Every module outside the two framework layers, new ones included, in one interpreter; it loads no
    framework and no optional dependency (scikit-learn, scipy, matplotlib) nor a packaged-data package."""
    modules = [m for m in package_modules() if not TORCH_LAYER.match(m) and not TF_LAYER.match(m)]
    assert "tuneformers.tokenization_utils" in modules and "tuneformers.trainer.training_args" in modules
    assert len(modules) > 25
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in ["tuneformers", *modules])
    heavy = ("torch", "tensorflow", "keras", "transformers", "sklearn", "scipy", "matplotlib", "scattertext", "gensim")
    code += f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"  # optional dependencies load when used, packaged-data packages are never imported


def test_the_torch_layer_never_imports_tensorflow():
    modules = [m for m in package_modules() if TORCH_LAYER.match(m)]
    assert "tuneformers.models.bert.modeling_bert" in modules and "tuneformers.trainer.trainer" in modules
    assert import_all(modules) == "['torch']"


@pytest.mark.tf
def test_the_tensorflow_layer_never_imports_torch():
    modules = [m for m in package_modules() if TF_LAYER.match(m)]
    assert "tuneformers.models.bert.modeling_tf_bert" in modules and "tuneformers.trainer_tf" in modules
    assert "torch" not in import_all(modules)


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
