"""What every model source is: a spec form, a sidebar label, a policy kind, and a `load` that builds the model.

A source reads its part of a spec (`torchvision:resnet18` -> `resnet18`), builds the network with its own
preprocessing, class names (None: the head's size decides) and output activation (None: sigmoid for a
one-output head, else softmax), and leaves freezing, moving, the first pass and the cache key to
`load_model`. The table of sources is `interpret/models/sources/__init__.py`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from ... import limits
from ...errors import ModelLoadError
from ...files import read_regular_file
from ...preprocess import Preprocessing

Weights = str | Path | bytes | None


@dataclass(frozen=True)
class LoadRequest:
    """What `load_model` was asked for, as a source sees it (`name` is the spec without its prefix)."""

    spec: str
    name: str
    device: torch.device
    weights: Weights = None  # None (the source's own), "random", a path, or a file's bytes
    weights_name: str = "weights"
    trust_code: bool = False
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    prefer: str | None = None  # which weights of a checkpoint that holds several ("ema"), see checkpoints.py


@dataclass(frozen=True)
class Built:
    """A source's network before `load_model` freezes and checks it."""

    model: nn.Module
    preprocessing: Preprocessing
    class_names: tuple[str, ...] | None = None  # None: the model's head size decides (ImageNet for 1000)
    activation: str | None = None  # None: sigmoid for a one-output head, else softmax
    kind: str | None = None  # what the model's files say it is (models/kinds.py); None: read from its output
    hookable: bool = True  # False where module hooks cannot be registered (TorchScript)
    report: str = ""  # one line on how a checkpoint was matched


class Source:
    """One model source; subclasses set the class attributes and `load`, and are listed in the table."""

    key: ClassVar[str]  # "torchvision": the sidebar's and parse_spec's name for it
    prefix: ClassVar[str] = ""  # "torchvision:"; "" for sources recognised by their path
    label: ClassVar[str]  # the sidebar's name for it
    form: ClassVar[str]  # "torchvision:NAME", as the CLI help and errors show it
    example: ClassVar[str]  # a spec that works, for the help text
    needs: ClassVar[str] = ""  # what it needs (a package, a file), in a few words
    code: ClassVar[str | None] = None  # its policy.CODE_SOURCES kind when loading it runs the file's code
    takes_weights: ClassVar[bool] = False  # accepts a state-dict file (or "random") as `weights`
    takes_kwargs: ClassVar[bool] = False  # accepts `model_kwargs`
    linkable: ClassVar[bool] = True  # its spec can travel in a page's link (not a file the link cannot carry)
    own_preprocessing: ClassVar[bool] = False  # its weights come with their preprocessing (a zoo's): not edited
    own_head: ClassVar[bool] = False  # its class names and output activation are its own (no file, no choice)

    def match(self, spec: str) -> str | None:
        """The name part of `spec` if this source reads it, else None."""
        if self.prefix and spec.startswith(self.prefix) and spec[len(self.prefix):]:
            return spec[len(self.prefix):]
        return None

    def names(self) -> list[str] | None:
        """The names this source can list (a zoo's architectures), None where it cannot."""
        return None

    def load(self, request: LoadRequest) -> Built:
        raise NotImplementedError

    def describe(self, request: LoadRequest) -> str:
        """The model's label: its spec, and the weights given with it."""
        weights = request.weights
        if weights is None or not self.takes_weights:
            return request.spec
        if isinstance(weights, str) and weights == "random":
            return f"{request.spec} (random weights)"
        return f"{request.spec} ({request.weights_name if isinstance(weights, bytes) else Path(weights).name})"


    def shown_name(self, request: LoadRequest) -> str:
        """How messages about the loaded model name it (a file source: the file's name)."""
        return self.describe(request)


def read_model_file(data: str | Path | bytes, name: str) -> tuple[bytes, str]:
    """A model or weights file's bytes (a regular file of at most CHECKPOINT_BYTES) and the name to show."""
    if isinstance(data, bytes):
        if len(data) > limits.CHECKPOINT_BYTES:
            raise ModelLoadError(f"'{name}' is {len(data) / 2**20:,.0f} MB; model files of at most "
                                 f"{limits.CHECKPOINT_BYTES // 2**20:,} MB are read (limit CHECKPOINT_BYTES).")
        return data, name
    return read_regular_file(data, limits.CHECKPOINT_BYTES, "CHECKPOINT_BYTES", ModelLoadError), Path(data).name


def seeded(build, *args: Any, **kwargs: Any) -> Any:
    """`build(...)` with torch's global generator seeded to 0 and restored: random weights are reproducible."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return build(*args, **kwargs)


def preprocessing_id(preprocessing: Preprocessing | None) -> str | None:
    """How a preprocessing enters a cache key: its fields as JSON text (None: the source's own)."""
    if preprocessing is None:
        return None
    fields = [[f.name, getattr(preprocessing, f.name)] for f in dataclasses.fields(preprocessing)]
    return json.dumps(fields, default=repr, ensure_ascii=False)


def kwargs_id(model_kwargs: dict[str, Any] | None) -> str:
    """How keyword arguments enter a cache key: JSON with sorted keys (repr for values JSON has not)."""
    return json.dumps(model_kwargs or {}, sort_keys=True, default=repr, ensure_ascii=False)


def weights_id(weights: Weights) -> list[str]:
    """How the weights enter a cache key: their sha256, or 'pretrained' / 'random'."""
    if isinstance(weights, bytes):
        return ["sha256", hashlib.sha256(weights).hexdigest()]
    if weights is None or weights == "random":
        return [weights or "pretrained"]
    return ["sha256", hashlib.sha256(Path(weights).read_bytes()).hexdigest()]
