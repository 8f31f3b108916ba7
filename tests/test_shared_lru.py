"""SharedLRU: the bounded, thread-safe store the app keeps maps, evaluations and visualisations in."""
from __future__ import annotations

import threading
import time

from interpret.ui.shared_lru import SharedLRU


def test_holds_at_most_size_entries_and_drops_the_least_recently_used_first():
    store = SharedLRU(3)
    for key in "abc":
        store.put(key, key.upper())
    assert store.get("a") == "A"  # a is now the most recently used
    store.put("d", "D")
    assert store.get("b") is None  # b was the least recently used
    assert [store.get(k) for k in "acd"] == ["A", "C", "D"]
    assert len(store.items) == 3


def test_put_of_an_existing_key_replaces_it_and_refreshes_it():
    store = SharedLRU(2)
    store.put("a", 1)
    store.put("b", 2)
    store.put("a", 10)
    store.put("c", 3)
    assert store.get("a") == 10 and store.get("b") is None and store.get("c") == 3


def test_a_missing_key_is_none():
    assert SharedLRU(1).get("nothing") is None


def test_locks_of_keys_never_stored_do_not_pile_up():
    store = SharedLRU(2)
    held = store.lock("busy")
    held.acquire()
    for i in range(100):
        store.lock(f"stopped-{i}")  # computations that never stored a result
    assert len(store.locks) <= 2 * 2
    assert store.lock("busy") is held  # a lock in use is kept
    held.release()


def test_one_lock_per_key_and_evicted_keys_lose_theirs():
    store = SharedLRU(1)
    assert store.lock("a") is store.lock("a")
    assert store.lock("a") is not store.lock("b")
    store.put("a", 1)
    store.put("b", 2)  # evicts a, and its lock
    assert "a" not in store.locks


def test_concurrent_sessions_compute_a_key_once_and_the_store_stays_bounded():
    store, computed, guard = SharedLRU(16), [], threading.Lock()

    def session(n: int) -> None:
        for i in range(200):
            key = f"k{(n + i) % 40}"
            if store.get(key) is None:
                with store.lock(key):
                    if store.get(key) is None:
                        with guard:
                            computed.append(key)
                        time.sleep(0.0001)
                        store.put(key, key)
            assert store.get(key) in (None, key)  # never another key's value

    first = SharedLRU(16)

    def same_key() -> None:
        with first.lock("x"):
            if first.get("x") is None:
                with guard:
                    computed.append("x-first")
                time.sleep(0.01)
                first.put("x", 1)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(8)]
    threads += [threading.Thread(target=same_key) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert computed.count("x-first") == 1  # eight sessions asked for x at once: computed once
    assert len(store.items) <= 16 and len(store.locks) <= 2 * 16
    assert all(store.items[k] == k for k in store.items)


def test_get_or_compute_computes_a_key_once_for_every_thread_and_counts_its_bytes():
    store, calls = SharedLRU(4, max_bytes=100), []

    def compute() -> str:
        calls.append(1)
        time.sleep(0.05)  # long enough for the other threads to arrive while it runs
        return "value"

    results = []
    threads = [threading.Thread(target=lambda: results.append(store.get_or_compute("k", compute, nbytes=len)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["value"] * 8 and len(calls) == 1 and store.nbytes == len("value")


def test_get_or_compute_returns_but_does_not_keep_what_keep_rejects():
    store = SharedLRU(4)
    assert store.get_or_compute("k", lambda: "partial", keep=lambda v: v != "partial") == "partial"
    assert store.get("k") is None
    assert store.get_or_compute("k", lambda: "whole", keep=lambda v: v != "partial") == "whole"
    assert store.get("k") == "whole"
