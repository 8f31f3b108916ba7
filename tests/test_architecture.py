"""The package's layers depend one way only, and only the UI layer knows Streamlit (docs/ARCHITECTURE.md)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "interpret"

# The layer of every top-level unit of the package (a module or a sub-package). A unit imports only from
# units of a lower layer, and from itself. The same table is drawn in docs/ARCHITECTURE.md.
LAYERS: dict[str, int] = {
    "errors": 0, "signs": 0, "limits": 0,
    "files": 1, "preprocess": 1, "shutdown": 1,
    "progress": 2, "heads": 2, "images": 2, "zoo_preprocessing": 2, "devices": 2, "spatial": 2, "render": 2, "policy": 2,
    "samples": 3, "models": 3, "jobs": 3,
    "capture": 4, "predict": 4,
    "layers": 5,
    "attribution": 6,
    "features": 7, "metrics": 7, "mistakes": 7,
    "dataset": 8, "report": 8,
    "cli": 9, "ui": 9,
    "__main__": 10,
}


def _unit(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 or relative.name != "__init__.py" else ""


def _imported_units(path: Path, source: str | None = None) -> set[str]:
    """The package units the file at `path` imports (absolute `interpret.x` and relative forms)."""
    package = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[:-1]  # the package it lives in
    units = set()
    for node in ast.walk(ast.parse(path.read_text() if source is None else source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
                names = [alias.name for alias in node.names] if len(target) == 1 else []
            else:
                target = (node.module or "").split(".")
                names = [alias.name for alias in node.names] if target == ["interpret"] else []
            if target[0] != "interpret":
                continue
            units.update(target[1:2] or names)
        elif isinstance(node, ast.Import):
            units.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("interpret."))
    return units


def _imports_streamlit(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "streamlit" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "streamlit":
            return True
    return False


FILES = sorted(PACKAGE.rglob("*.py"))


def test_every_unit_has_a_layer():
    units = {_unit(path) for path in FILES} - {""}
    assert units <= set(LAYERS), f"units without a layer: {sorted(units - set(LAYERS))}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path):
    unit = _unit(path)
    if not unit:
        return
    upward = {other for other in _imported_units(path) - {unit} if LAYERS.get(other, 99) >= LAYERS[unit]}
    assert not upward, f"{path.relative_to(PACKAGE)} (layer {LAYERS[unit]}) imports {sorted(upward)} from its own layer or above"


def test_only_the_ui_imports_streamlit():
    offenders = [str(p.relative_to(PACKAGE)) for p in FILES if _imports_streamlit(p) and _unit(p) != "ui"]
    assert offenders == []


def test_the_checker_sees_relative_and_absolute_imports():
    """The rule above can fail: upward imports in every form are seen, in a module and in a sub-package."""
    source = "from .ui import page\nimport interpret.metrics.sanity\nfrom interpret import attribution\nfrom . import cli\n"
    assert _imported_units(PACKAGE / "capture.py", source) == {"ui", "metrics", "attribution", "cli"}
    sub_package = "from ..metrics import sanity\nfrom .private import x\n"
    assert _imported_units(PACKAGE / "models" / "loaded.py", sub_package) == {"metrics", "models"}
