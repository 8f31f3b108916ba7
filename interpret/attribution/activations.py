"""Which activation functions a model really calls, seen in one forward pass: what the ReLU rules can cover.

Guided Backprop, Deconvolution and DeepLIFT have rules for ReLU-type units only; a model whose units are
SiLU, GELU, sigmoid gates, ... would silently get (part of) a plain gradient under their name. Module types
do not tell (functional `F.relu`, TorchScript, torch.export graphs of aten ops), so the census runs the
model once under a recording `TorchFunctionMode`: it sees every torch function, Tensor method and aten op a
Python-level forward calls (nn.ReLU calls F.relu, nn.ReLU6 F.hardtanh(0, 6), torch.export graphs
aten.relu_.default), sets no hooks and is thread-local, so the shared model and other sessions see nothing.
A TorchScript model runs in the JIT interpreter: the census sees none of its operations (`opaque`).
"""
from __future__ import annotations

import threading
import weakref
from collections import Counter
from dataclasses import dataclass

import torch
from torch.overrides import TorchFunctionMode

from ..models import LoadedModel

# ReLU-type units: their rule (guided, deconvolution, DeepLIFT rescale) is defined for them
RELU_NAMES = frozenset({"relu", "relu_", "relu6", "relu6_"})
CLIPPED_NAMES = frozenset({"hardtanh", "hardtanh_"})  # ReLU-type when the lower bound is 0 (nn.ReLU6 is hardtanh(0, 6))
MAX_POOL_NAMES = frozenset({"max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices"})
# elementwise activations (and gates) that no ReLU rule covers
OTHER_ACTIVATIONS = frozenset({
    "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "mish", "elu", "selu", "celu", "leaky_relu",
    "prelu", "rrelu", "softplus", "softsign", "glu", "logsigmoid", "log_sigmoid", "tanhshrink", "softshrink",
    "hardshrink", "threshold", "erf", "erfc", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "clamp", "clamp_min",
    "clamp_max", "clip", "minimum", "maximum", "softmax", "_softmax", "log_softmax", "layer_norm", "group_norm",
    "native_layer_norm", "native_group_norm", "rms_norm", "normalize", "scaled_dot_product_attention", "pow",
})


def op_name(func) -> str:
    """'relu' for F.relu, torch.relu, Tensor.relu and aten.relu.default; 'relu_' for the in-place forms."""
    name = getattr(func, "__name__", "") or str(func)
    return name.split(".")[0]


def clipped_relu_bounds(name: str, args: tuple, kwargs: dict) -> tuple[float, float] | None:
    """(0, upper) for a hardtanh/relu6 call that is a clipped ReLU, else None."""
    if name in ("relu6", "relu6_"):
        return 0.0, 6.0
    low = kwargs.get("min_val", args[1] if len(args) > 1 else -1.0)
    high = kwargs.get("max_val", args[2] if len(args) > 2 else 1.0)
    return (0.0, float(high)) if float(low) == 0.0 and float(high) > 0 else None


class _Recorder(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = op_name(func)
        if name in CLIPPED_NAMES and clipped_relu_bounds(name, args, kwargs) is None:
            name = "hardtanh (lower bound not 0)"
        self.counts[name] += 1
        return func(*args, **kwargs)


@dataclass(frozen=True)
class Census:
    """The activation functions (and max pooling) one forward pass calls, with their counts."""

    relus: int  # ReLU, ReLU6 and hardtanh(0, upper) calls
    max_pools: int
    others: tuple[tuple[str, int], ...]  # activations no ReLU rule covers, e.g. (("silu", 49), ("sigmoid", 16))
    opaque: bool  # TorchScript: the forward ran where the census cannot see (nothing is known)

    def others_text(self, limit: int = 4) -> str:
        """'silu (49 calls), sigmoid (16 calls)'."""
        shown = [f"{name} ({count} call{'s' * (count != 1)})" for name, count in self.others[:limit]]
        return ", ".join(shown) + (f" and {len(self.others) - limit} more" if len(self.others) > limit else "")


def probe_input(lm: LoadedModel) -> torch.Tensor:
    """A fixed, photo-like input at the model's size: seeded uniform pixels, normalised."""
    size = int(lm.preprocessing.crop_size)
    pixels = torch.rand((1, 3, size, size), generator=torch.Generator().manual_seed(0))
    return lm.preprocessing.standardise(pixels).to(lm.device)


def is_torchscript(lm: LoadedModel) -> bool:
    return isinstance(lm.model, torch.jit.ScriptModule)


_CACHE: weakref.WeakKeyDictionary[LoadedModel, Census] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def census(lm: LoadedModel) -> Census:
    """The model's activation census (one inference pass, once per model)."""
    with _GUARD:
        if lm in _CACHE:
            return _CACHE[lm]
    if is_torchscript(lm):
        result = Census(relus=0, max_pools=0, others=(), opaque=True)
    else:
        recorder = _Recorder()
        with torch.inference_mode(), recorder:
            lm.model(probe_input(lm))
        counts = recorder.counts
        relus = sum(c for n, c in counts.items() if n in RELU_NAMES or n in CLIPPED_NAMES)
        pools = sum(c for n, c in counts.items() if n in MAX_POOL_NAMES)
        others = tuple(sorted(((n, c) for n, c in counts.items() if n in OTHER_ACTIVATIONS or n.startswith("hardtanh (")),
                              key=lambda item: (-item[1], item[0])))
        result = Census(relus=relus, max_pools=pools, others=others, opaque=False)
    with _GUARD:
        _CACHE[lm] = result
    return result
