"""Showing what went wrong as one clear message, never a traceback."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from ..devices import describe_device_failure
from ..errors import InterpretError


def message_for(exc: BaseException, device: str = "the device") -> str:
    if isinstance(exc, InterpretError):
        return str(exc)
    if isinstance(exc, (RuntimeError, MemoryError)):
        return describe_device_failure(exc, device)
    return f"Something went wrong: {type(exc).__name__}: {str(exc)[:300]}"


def show_error(exc: BaseException, device: str = "the device") -> None:
    st.error(message_for(exc, device), icon="⚠️")


@contextmanager
def user_errors(device: str = "the device") -> Iterator[None]:
    """Run a block; a user error or a device failure becomes an st.error and the rest of the page goes on."""
    try:
        yield
    except (InterpretError, RuntimeError, MemoryError, ValueError) as exc:
        show_error(exc, device)
