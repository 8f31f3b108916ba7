"""A loaded model's first forward pass, under a time bound, and the checks its weights and outputs must pass.

Every model is run once before it is accepted: a batch of 2 fixed random images at its crop size. A model
whose weights hold NaN or Inf, whose pass raises, takes longer than `limits.FIRST_FORWARD_SECONDS`, or
whose output is not one finite row of at most `limits.MAX_CLASSES` floating-point class scores per image
(a tensor, or one picked out of a tuple, dict or ModelOutput: outputs.py) is refused with one message that names it.

The time bound is honest about what a thread can do: the pass runs in a daemon worker thread and the
loader stops waiting for it, but a thread cannot be killed. A pass stuck in a loop keeps its thread (and
a CPU core) until it ends or the process exits; the model is refused and never cached, so it runs only
once; at exit the process waits for it (bounded, interpret/shutdown.py). Memory a pass allocates is not
bounded here: consent (interpret/policy.py) is what guards against a TorchScript file written to do harm.
"""
from __future__ import annotations

import threading
from typing import Any

import torch
from torch import nn

from .. import limits
from ..errors import DeviceError, InterpretError, ModelLoadError, exit_call, is_device_failure
from ..preprocess import Preprocessing
from ..shutdown import wait_at_exit
from .outputs import logits_of, with_logits

BATCH = 2  # two images, so a model that ignores the batch (one row per call) is caught


def time_bound() -> float:
    """Seconds the first pass may take: `FIRST_FORWARD_SECONDS`, or its environment override."""
    return limits.seconds_bound(limits.FIRST_FORWARD_SECONDS, limits.FIRST_FORWARD_SECONDS_ENV)


def check_weights(model: nn.Module, name: str) -> None:
    """Refuse a model with a NaN or infinite parameter or buffer: every output it gives would be meaningless."""
    tensors = list(model.named_parameters()) + list(model.named_buffers())
    for tensor_name, tensor in tensors:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelLoadError(f"'{name}' has NaN or infinite values in its weights ('{tensor_name}'): "
                                 "it cannot give meaningful scores.")


def _one_line(exc: BaseException) -> str:
    """The telling line of an exception: TorchScript errors end with the original one, after their trace."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    line = lines[-1] if isinstance(exc, torch.jit.Error) else lines[0]
    return (line if ": " in line else f"{type(exc).__name__}: {line}")[:240]


def _run(model: nn.Module, x: torch.Tensor) -> Any:
    with torch.inference_mode():
        return model(x)


def _bounded(model: nn.Module, x: torch.Tensor, name: str, seconds: float) -> Any:
    """`model(x)` in a daemon thread, waited for at most `seconds`."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = _run(model, x)
        except BaseException as exc:  # noqa: BLE001  (reported below, in the loader's thread)
            outcome["error"] = exc

    worker = threading.Thread(target=work, name=f"interpret-first-pass:{name}", daemon=True)
    worker.start()
    wait_at_exit(worker, f"the first forward pass of '{name}'")
    worker.join(seconds)
    if worker.is_alive():
        raise ModelLoadError(f"'{name}' did not finish its first forward pass (a batch of {BATCH} images) within "
                             f"{seconds:g} s, so it was refused; a model that never returns would hang every page.")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def check_class_count(classes: int, name: str, what: str = "classes") -> None:
    """Refuse a head of fewer than 1 or more than `limits.MAX_CLASSES` classes (before building it, where known)."""
    if classes < 1 or classes > limits.MAX_CLASSES:
        raise ModelLoadError(f"'{name}' has {classes} {what}; between 1 and {limits.MAX_CLASSES} classes "
                             "are supported (interpret/limits.py, MAX_CLASSES).")


def check_output(out: Any, name: str) -> int:
    """The number of classes of a first-pass output; refuse anything but finite float scores, one row per image.

    A tuple, list, dict or transformers ModelOutput is read for its logits (interpret/models/outputs.py)."""
    if not isinstance(out, torch.Tensor):
        out = logits_of(out, BATCH, name)
    if out.ndim != 2:
        raise ModelLoadError(f"'{name}' returns a tensor of shape {tuple(out.shape)}, not a 2-D tensor of class scores "
                             "(batch x classes).")
    rows, classes = (int(n) for n in out.shape)
    if rows != BATCH:
        raise ModelLoadError(f"'{name}' returns {rows} rows of scores for a batch of {BATCH} images: "
                             "one row per image is needed.")
    check_class_count(classes, name, "outputs per image")
    if not out.is_floating_point():
        raise ModelLoadError(f"'{name}' returns {out.dtype} scores; class scores must be floating point.")
    if not bool(torch.isfinite(out).all()):
        raise ModelLoadError(f"'{name}' returns NaN or infinite scores for a test batch: its outputs are not usable.")
    return classes


def first_pass(model: nn.Module, pre: Preprocessing, device: torch.device, name: str) -> tuple[nn.Module, int]:
    """Check the weights, run a batch of 2 under the time bound, check the output; return the model and its classes.

    The model returned is `model` itself when it returns a tensor of scores, else `model` wrapped so that it
    does (its logits picked out of a tuple, dict or ModelOutput; same layer names, outputs.with_logits)."""
    check_weights(model, name)
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(BATCH, 3, pre.crop_size, pre.crop_size, generator=generator) * 2 - 1).to(device)
    try:
        out = _bounded(model, x, name, time_bound())
    except InterpretError:
        raise
    except SystemExit as exc:  # a forward that exits: uncaught, it would end the CLI (status 0) or the app's page
        raise ModelLoadError(f"'{name}' called {exit_call(exc)} in its first forward pass; a model must return "
                             "its scores.") from exc
    except Exception as exc:
        if device.type != "cpu" and is_device_failure(exc):  # the accelerator's fault, not the file's
            raise DeviceError.failed(exc, str(device)) from exc  # the edge adds its advice
        if isinstance(exc, MemoryError):
            raise ModelLoadError(f"'{name}' ran out of memory in its first forward pass on {device}.") from exc
        raise ModelLoadError(f"'{name}' failed in its first forward pass (a batch of {BATCH} images): "
                             f"{_one_line(exc)}") from exc
    classes = check_output(out, name)
    return with_logits(model, out, BATCH, name), classes
