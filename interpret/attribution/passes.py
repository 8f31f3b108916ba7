"""Passes shared by several maps: a bounded cache, active only inside a `shared_passes()` block.

Several methods asked for the same image, target and layer need the same passes: the gradient-CAM family
one forward and one backward to the layer, Gradient and Gradient x Input one backward to the input, the
SmoothGrad family one set of noisy gradients (same seed, same samples). Inside `with shared_passes():`
each such pass is computed once, keyed by the model's identity, a digest of the input, the target, the
layer, the pass kind and its parameters, and kept in a cache bounded by PASS_CACHE_BYTES (least recently
used out first); the cache is released when the block ends. Outside a block nothing is cached, so one
`attribute()` call behaves exactly as before. A block belongs to the thread (context) that opened it:
other sessions' calls never see it. Cached tensors are detached and must not be modified in place.
"""
from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import torch

from ..limits import PASS_CACHE_BYTES

T = TypeVar("T")


def nbytes(value: Any) -> int:
    """Bytes held by a tensor, or the tensors of a tuple, list, dict or dataclass (anything else counts as nothing)."""
    if isinstance(value, torch.Tensor):
        return value.element_size() * value.nelement()
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 0


class PassCache:
    """Results of passes by key, at most `max_bytes` of tensors; least recently used out first."""

    def __init__(self, max_bytes: int = PASS_CACHE_BYTES) -> None:
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
        value = compute()  # outside the lock: a long pass must not block another key
        size = nbytes(value)
        with self._lock:
            self.misses += 1
            if size > self.max_bytes:
                return value  # larger than the whole budget: used once, not kept
            if key not in self._entries:
                self._entries[key] = value
                self.bytes += size
            while self.bytes > self.max_bytes and self._entries:
                _, old = self._entries.popitem(last=False)
                self.bytes -= nbytes(old)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0


_ACTIVE: ContextVar[PassCache | None] = ContextVar("interpret_shared_passes", default=None)


@contextmanager
def shared_passes(max_bytes: int | None = None) -> Iterator[PassCache]:
    """A block in which maps of the same image, target and layer share their passes.

    Nested blocks share the outer block's cache; the outermost block releases it on exit.
    """
    outer = _ACTIVE.get()
    if outer is not None:
        yield outer
        return
    cache = PassCache(PASS_CACHE_BYTES if max_bytes is None else max_bytes)
    token = _ACTIVE.set(cache)
    try:
        yield cache
    finally:
        _ACTIVE.reset(token)
        cache.clear()


def active_cache() -> PassCache | None:
    """The cache of the enclosing `shared_passes()` block, or None outside one."""
    return _ACTIVE.get()


def digest(x: torch.Tensor) -> tuple:
    """An identity of a tensor's values: shape, dtype, device and a hash of its bytes."""
    data = x.detach()
    if data.device.type != "cpu":
        data = data.cpu()
    data = data.contiguous()
    if data.dtype == torch.bfloat16:  # numpy has no bfloat16
        data = data.view(torch.int16)
    hashed = hashlib.blake2b(data.numpy().tobytes(), digest_size=16).hexdigest()
    return (tuple(x.shape), str(x.dtype), str(x.device), hashed)


def shared(ctx: Any, kind: str, settings: tuple, compute: Callable[[], T]) -> T:
    """`compute()`, or the result a method before it got for the same pass in this `shared_passes()` block.

    `ctx` is an attribution Context: the key is its model (key and object), input, target and layer, with
    the pass `kind` and the `settings` that change its result (noise, samples, seed, ...).
    """
    cache = _ACTIVE.get()
    if cache is None:
        return compute()
    key = (ctx.lm.key, id(ctx.lm.model), digest(ctx.x), ctx.target, ctx.row_targets, ctx.layer, kind, settings)
    return cache.get_or_compute(key, compute)
