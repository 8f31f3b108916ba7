"""A fast answer to "can this machine reach a host?", so offline use fails in a second, not a minute."""
from __future__ import annotations

import socket
from functools import lru_cache


@lru_cache(maxsize=16)
def reachable(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
