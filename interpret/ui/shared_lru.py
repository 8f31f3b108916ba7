"""A bounded store of results shared by every browser session, keyed by strings.

For results that st.cache_data cannot hold well: work that draws a progress bar while it runs (st calls
made inside a cached function are recorded and replayed on every later hit), or work that is filled in
place and must survive a script stopped half-way. `lock(key)` lets one session compute a key while the
others wait for it instead of computing it again.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class SharedLRU:
    """Least recently used entries are dropped first once `size` is reached."""

    def __init__(self, size: int = 64):
        self.size, self.items, self.locks, self.guard = size, OrderedDict(), {}, threading.Lock()

    def get(self, key: str) -> Any | None:
        with self.guard:
            if key in self.items:
                self.items.move_to_end(key)
            return self.items.get(key)

    def put(self, key: str, value: Any) -> None:
        with self.guard:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                old, _ = self.items.popitem(last=False)
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
