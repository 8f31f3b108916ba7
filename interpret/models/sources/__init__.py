"""The table of model sources: each row a small `Source` (base.py) that knows its spec form, its sidebar
label, whether it runs the file's code (policy.CODE_SOURCES), how to list names and how to load.

`parse_spec`, `load_model`, the sidebar and the CLI's help all read `SOURCES`. Adding a source is one module
here with its `Source` subclass, and its row below; rows are tried in order, so the sources recognised by a
prefix come before those recognised by a path.
"""
from __future__ import annotations

from ...errors import ModelLoadError
from .base import Built, LoadRequest, Source
from .bundled import BundledSource
from .export import ExportSource
from .hf import HuggingFaceSource
from .python import PythonSource, parse_kwargs
from .torchscript import TorchScriptSource
from .zoo import TimmSource, TorchvisionSource

SOURCES: tuple[Source, ...] = (
    BundledSource(), TorchvisionSource(), TimmSource(), HuggingFaceSource(), PythonSource(),
    ExportSource(), TorchScriptSource(),
)
BY_KEY: dict[str, Source] = {source.key: source for source in SOURCES}

__all__ = ["SOURCES", "BY_KEY", "Built", "LoadRequest", "Source", "find_source", "parse_spec", "parse_kwargs",
           "spec_forms"]


def find_source(spec: str) -> tuple[Source, str]:
    """The source that reads `spec`, and the spec's name part (`timm:hf-hub:org/x` -> timm, `hf-hub:org/x`)."""
    spec = spec.strip()
    if "\x00" in spec:
        raise ModelLoadError("A model spec or path cannot contain a NUL character.")
    for source in SOURCES:
        name = source.match(spec)
        if name is not None:
            return source, name
    raise ModelLoadError(f"'{spec}' is not a model spec. Use {spec_forms()}.")


def parse_spec(spec: str) -> tuple[str, str]:
    """'torchvision:resnet18' -> ('torchvision', 'resnet18'); a bare path -> ('file', path); a .pt2 path -> ('export', path)."""
    source, name = find_source(spec)
    return source.key, name


def spec_forms() -> str:
    """Every spec form, for help texts and errors: 'bundled:efficientnet_lite0, torchvision:NAME, ...'."""
    return ", ".join(source.form for source in SOURCES)
