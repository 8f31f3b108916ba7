"""User-facing errors: every message is meant to be shown as is, in the UI or the CLI.

Each subclass covers one kind of thing a user hands over; its message names the file (or value) and the
problem in one line, so the edges (`interpret/cli/__init__.py`, `interpret/ui/errors.py`) can print it as is.
Device advice depends on the edge (a flag in the CLI, the sidebar in the app): `device_advice(exc, device, edge)`.
"""
from __future__ import annotations

import re
from typing import Protocol


class InterpretError(Exception):
    """Base class for errors caused by what a user gave (a file, a name, a setting)."""


class ImageError(InterpretError):
    """An image that cannot be read, is too large, or is not an image at all."""


class ImageSetError(ImageError):
    """A labelled set (zip, folder, CSV) that cannot be read or holds no usable labelled image.

    A subclass of `ImageError` because a set is made of images and older callers catch `ImageError`.
    """


class ModelLoadError(InterpretError):
    """A model that cannot be built or loaded."""


class WeightsUnavailableError(ModelLoadError):
    """Pretrained weights that are neither cached locally nor downloadable."""


class ClassNamesError(ModelLoadError):
    """A class-names file (.txt or .json) that cannot be read, does not hold a list of names, or does not fit the model.

    A subclass of `ModelLoadError`: the names are part of the model a user asks for, and callers catch that.
    """


class LayerError(InterpretError):
    """A layer name that does not exist or does not fit the requested operation."""


class DeviceError(InterpretError):
    """A device that does not exist or failed (out of memory, unsupported operation).

    `failure` is the device's own error where there was one (the edges advise on it with `device_advice`), and
    `device` the device's name; the message itself gives no advice, which depends on the edge."""

    def __init__(self, message: str, device: str | None = None, failure: BaseException | None = None):
        super().__init__(message)
        self.device, self.failure = device, failure

    @classmethod
    def failed(cls, exc: BaseException, device: str) -> DeviceError:
        """A device failure met while loading (moving a model, its first pass), kept for the edge's advice."""
        return cls(_device_head(exc, device), device, exc)


class ParameterError(InterpretError):
    """A method parameter or setting that is not a number, not finite, out of range or too costly."""


class Waiting(Protocol):
    """Background work a page can wait for (a job): whether it is still running."""

    @property
    def active(self) -> bool: ...


class NotAnsweredError(InterpretError):
    """A loaded model that has not answered within MODEL_ANSWER_SECONDS: its work goes on in the background."""

    def __init__(self, message: str, waiting: Waiting | None = None):
        super().__init__(message)
        self.waiting = waiting  # what the page waits for (a background job, with `active`), if anything


class OutputError(InterpretError):
    """An output file (--out, --npy, --csv, --vis-out) that cannot be written where it was asked for."""


# Words in a RuntimeError's message that show it came from a device (a GPU's driver, memory or kernels)
# rather than from a bug or a user's file; anything else is reported as unexpected, without device advice.
_DEVICE_WORDS = ("cuda", "cudnn", "cublas", "cufft", "nccl", "mps", "device", "gpu", "rocm", "xpu")


def is_device_failure(exc: BaseException) -> bool:
    """A real device failure: torch's OutOfMemoryError, or a RuntimeError whose message names CUDA, MPS or the device.

    Checked by name so this layer imports no torch (torch.cuda.OutOfMemoryError is a RuntimeError subclass).
    A plain MemoryError (host memory) or any other RuntimeError is not a device failure.
    """
    if type(exc).__name__ == "OutOfMemoryError" and type(exc).__module__.startswith("torch"):
        return True
    if isinstance(exc, DeviceError):
        return True
    if not isinstance(exc, RuntimeError):
        return False
    text = str(exc).lower()
    return any(word in text for word in _DEVICE_WORDS)


# How each edge says "use the CPU" and "choose another device": the CLI's flag, the app's sidebar.
EDGES = ("cli", "app")
_TO_CPU = {"cli": "Try --device cpu", "app": "Choose cpu as the device in the sidebar"}
_CHOOSE = {"cli": "Give one of them with --device.", "app": "Choose one of them as the device in the sidebar."}
_MPS_FALLBACK = {"cli": "set PYTORCH_ENABLE_MPS_FALLBACK=1 to run such operators on the CPU",
                 "app": "restart the app with PYTORCH_ENABLE_MPS_FALLBACK=1 to run such operators on the CPU"}
_MISSING_OPERATOR = re.compile(r"operator '([^']+)' is not currently implemented for the (\w+) device", re.I)


def _device_head(exc: BaseException, device: str | None) -> str:
    """What happened on the device, in one sentence without advice."""
    text = first_line(exc)
    where = device or "the device"
    missing = _MISSING_OPERATOR.search(text)
    if "out of memory" in text.lower() or type(exc).__name__ == "OutOfMemoryError":
        return f"The device {device} ran out of memory." if device else "The device ran out of memory."
    if missing:
        return f"The operator '{missing.group(1)}' is not implemented on {device or missing.group(2).lower()}."
    return f"The computation failed on {where}: {text.rstrip('.')}."


def device_advice(exc: BaseException, device: str | None, edge: str) -> str:
    """One line for a device failure (out of memory, an operator the device lacks, any other failure) or a device
    this machine does not have, with the fix this `edge` offers ("cli": --device cpu; "app": the sidebar). Switching
    to cpu is suggested only when the device is not cpu already. The one wording of device advice: the CLI, the app
    and the model loaders (through DeviceError) all come here."""
    if edge not in EDGES:
        raise ValueError(f"edge must be one of {EDGES}, not {edge!r}")
    if isinstance(exc, DeviceError):
        if exc.failure is None:  # a device this machine does not have: the message lists the ones it has
            return f"{' '.join(str(exc).split())} {_CHOOSE[edge]}"
        device = exc.device or device
        exc = exc.failure
    head = _device_head(exc, device)
    if device == "cpu":
        return head + (" Use a smaller model or image." if "out of memory" in head else "")
    if "out of memory" in head:
        return f"{head} {_TO_CPU[edge]}, or {'a' if edge == 'cli' else 'use a'} smaller model or image."
    if _MISSING_OPERATOR.search(first_line(exc)):
        return f"{head} {_TO_CPU[edge]}, or {_MPS_FALLBACK[edge]}."
    return f"{head} {_TO_CPU[edge]} and try again." if edge == "app" else f"{head} {_TO_CPU[edge]}."


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message, at most `limit` characters: what one-line reports show."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return text if len(text) <= limit else text[:limit] + "..."


def exit_call(exc: SystemExit) -> str:
    """The call that raised a SystemExit, as a user's code wrote it: 'sys.exit()', 'sys.exit(3)', "sys.exit('bye')"."""
    return "sys.exit()" if exc.code is None else f"sys.exit({exc.code!r})"
