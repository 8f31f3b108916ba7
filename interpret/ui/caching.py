"""One place that tells Streamlit's caches how to key the project's objects.

A `LoadedModel` is keyed by its `.key` (spec, device, weights, class names), an `InputImage` by the
sha256 of its bytes, a labelled `ImageSet` by its fingerprint and a `ModelRequest` by its key, so a
cached function takes each of them once, as a plain argument, instead of a key string beside an
unhashed `_object`. Use `cache_data` / `cache_resource` from here rather than `st.cache_*` directly.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from ..images import InputImage
from ..mistakes import ImageSet
from ..models import LoadedModel

HashFuncs = dict[str | type[Any], Callable[[Any], Any]]  # st.cache_data's hash_funcs: a type (or its name) -> a key

HASH_FUNCS: HashFuncs = {
    LoadedModel: lambda lm: lm.key,
    InputImage: lambda image: image.sha256,
    ImageSet: lambda image_set: image_set.fingerprint,
}


def cache_data(hash_funcs: HashFuncs | None = None, **options: Any):
    """`st.cache_data` with the project's hash functions (and `hash_funcs`, for a type of one module)."""
    return st.cache_data(hash_funcs={**HASH_FUNCS, **(hash_funcs or {})}, **options)


def cache_resource(hash_funcs: HashFuncs | None = None, **options: Any):
    """`st.cache_resource` with the project's hash functions (and `hash_funcs`, for a type of one module)."""
    return st.cache_resource(hash_funcs={**HASH_FUNCS, **(hash_funcs or {})}, **options)
