"""Imports run one way: runtime -> data -> models -> temporal -> training -> evaluation -> recipes."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each module's layer; a module may import from its own layer and the ones below.
LAYERS = {"workout_runtime": 0, "toolkit.errors": 0, "toolkit.cli": 0, "toolkit.data": 1, "toolkit.models": 2,
          "toolkit.temporal": 3, "toolkit.config": 3, "toolkit.training": 4, "toolkit.export": 4,
          "toolkit.evaluation": 5}
PACKAGES = ["workout_runtime", "toolkit.data", "toolkit.models", "toolkit.temporal", "toolkit.training",
            "toolkit.evaluation"]


def layer_of(module: str) -> int | None:
    matches = [name for name in LAYERS if module == name or module.startswith(name + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def module_files():
    for package in ("toolkit", "workout_runtime"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if name == "toolkit.__init__":
                continue  # registers every Keras layer of the toolkit on purpose
            yield name.removesuffix(".__init__"), path


def test_no_module_imports_upward():
    upward = []
    for name, path in module_files():
        own = layer_of(name)
        for imported in imports_of(path):
            target = layer_of(imported)
            if target is not None and target > own:
                upward.append(f"{name} (layer {own}) imports {imported} (layer {target})")
    assert not upward, "\n".join(upward)


def test_the_runtime_needs_neither_tensorflow_nor_the_toolkit():
    heavy = {"tensorflow", "keras", "toolkit", "sklearn", "matplotlib"}
    for name, path in module_files():
        if name.startswith("workout_runtime"):
            assert not {i.split(".")[0] for i in imports_of(path)} & heavy, name


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_alone(package):
    code = (f"import sys, {package}, pkgutil, importlib\n"
            f"for info in pkgutil.iter_modules({package}.__path__):\n"
            f"    importlib.import_module('{package}.' + info.name)\n"
            f"print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    if package == "workout_runtime":
        assert result.stdout.strip() == "False"
