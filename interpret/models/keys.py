"""Cache keys: the full sha256 of a canonical encoding, so two different inputs never share a key."""
from __future__ import annotations

import hashlib
import json


def canonical_key(*parts: object) -> str:
    """sha256 of `parts` as compact JSON (strings escaped, lists delimited): ["x\\ny", "z"] and ["x", "y\\nz"] differ.

    `parts` holds only JSON values (str, int, float, bool, None, lists and tuples of them).
    """
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
