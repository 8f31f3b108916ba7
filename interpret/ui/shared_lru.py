"""A bounded store of results shared by every browser session, keyed by strings.

For results that st.cache_data cannot hold well: work that draws a progress bar while it runs (st calls
made inside a cached function are recorded and replayed on every later hit), or work that is filled in
place and must survive a script stopped half-way. `lock(key)` lets one session compute a key while the
others wait for it instead of computing it again. With `max_bytes`, entries are also bounded by what they
hold (each `put` says its value's size): a count alone lets 64 large photos fill hundreds of MB.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class SharedLRU:
    """Least recently used entries are dropped first once `size` entries or `max_bytes` bytes are exceeded.

    A value larger than `max_bytes` on its own is not kept (its caller still has it).
    """

    def __init__(self, size: int = 64, max_bytes: int | None = None):
        self.size, self.max_bytes, self.guard = size, max_bytes, threading.Lock()
        self.items: OrderedDict[str, Any] = OrderedDict()
        self.locks: dict[str, threading.Lock] = {}
        self.sizes: dict[str, int] = {}
        self.nbytes = 0

    def get(self, key: str) -> Any | None:
        with self.guard:
            if key in self.items:
                self.items.move_to_end(key)
            return self.items.get(key)

    def put(self, key: str, value: Any, nbytes: int = 0) -> None:
        """Store `value` under `key`; `nbytes` is what it holds, counted against `max_bytes`."""
        with self.guard:
            self.nbytes += nbytes - self.sizes.get(key, 0)
            self.items[key], self.sizes[key] = value, nbytes
            self.items.move_to_end(key)
            while self.items and (len(self.items) > self.size or
                                  (self.max_bytes is not None and self.nbytes > self.max_bytes)):
                old, _ = self.items.popitem(last=False)
                self.nbytes -= self.sizes.pop(old)
                self.locks.pop(old, None)

    def lock(self, key: str) -> threading.Lock:
        """One lock per key, for computing that key once while others wait.

        Locks of keys never stored (a computation stopped half-way) are dropped, when not held, once
        there are more than twice `size` of them: the table stays bounded like the entries.
        """
        with self.guard:
            if key not in self.locks and len(self.locks) >= 2 * self.size:
                self.locks = {k: lock for k, lock in self.locks.items() if k in self.items or lock.locked()}
            return self.locks.setdefault(key, threading.Lock())

    def get_or_compute(self, key: str, compute: Callable[[], T], nbytes: Callable[[T], int] | None = None,
                       keep: Callable[[T], bool] | None = None) -> T:
        """The value under `key`, computed by `compute()` once for every session while the others wait for it.

        `nbytes(value)` is what a new value holds (for `max_bytes`); a value `keep` rejects (a computation
        stopped half-way) is returned to its caller but not stored.
        """
        found = self.get(key)
        if found is not None:
            return found
        with self.lock(key):
            found = self.get(key)
            if found is None:
                found = compute()
                if keep is None or keep(found):
                    self.put(key, found, nbytes(found) if nbytes is not None else 0)
        return found
