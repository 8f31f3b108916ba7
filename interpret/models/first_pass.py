"""A loaded model's first forward pass, under a time bound, and the checks its weights and outputs must pass.

Every model is run once before it is accepted: a batch of 2 fixed random images at its crop size. A model
whose weights hold NaN or Inf, whose pass raises, takes longer than `limits.FIRST_FORWARD_SECONDS`, or
whose output is not one finite row of at most `limits.MAX_CLASSES` floating-point class scores per image
(a tensor, or one picked out of a tuple, dict or ModelOutput: outputs.py) is refused with one message that names it.
Other kinds of model (interpret/models/kinds.py) are read from that output and checked for what they return:
per-pixel scores, per-image detections, embeddings or regression values.

The time bound is honest about what a thread can do: the pass runs in a daemon worker thread and the
loader stops waiting for it, but a thread cannot be killed. A pass stuck in a loop keeps its thread (and
a CPU core) until it ends or the process exits; the model is refused and never cached, so it runs only
once; at exit the process waits for it (bounded, interpret/shutdown.py). Memory a pass allocates is not
bounded here: consent (interpret/policy.py) is what guards against a TorchScript file written to do harm.
"""
from __future__ import annotations

import threading
from typing import Any, NamedTuple

import torch
from torch import nn

from .. import limits
from ..errors import DeviceError, InterpretError, ModelLoadError, exit_call, is_device_failure
from ..preprocess import Preprocessing
from ..shutdown import wait_at_exit
from .kinds import KINDS, check_kind, detection_classes, read_kind, segmentation_pick
from .outputs import logits_of, with_logits, with_pick

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


class Passed(NamedTuple):
    """A model that passed its first pass: the module to run (its output picked where needed), its number of
    outputs per image (classes, channels of a mask, dimensions, values), and its kind (models/kinds.py)."""

    model: nn.Module
    outputs: int
    kind: str


def _check_scores(scores: torch.Tensor, name: str, what: str) -> None:
    if not scores.is_floating_point():
        raise ModelLoadError(f"'{name}' returns {scores.dtype} {what}; they must be floating point.")
    if not bool(torch.isfinite(scores).all()):
        raise ModelLoadError(f"'{name}' returns NaN or infinite {what} for a test batch: its outputs are not usable.")


def check_segmentation(out: Any, name: str) -> int:
    """The classes of per-pixel scores (N x C x h x w, picked from a dict or ModelOutput); refuse anything else."""
    pick = segmentation_pick(out)
    if pick is None:
        raise ModelLoadError(f"'{name}' does not return per-pixel class scores (batch x classes x height x width, or a "
                             "dict holding them as 'out' or 'logits'), so it cannot be read as a segmentation model.")
    from .outputs import apply_pick

    scores = apply_pick(out, pick)
    if int(scores.shape[0]) != BATCH:
        raise ModelLoadError(f"'{name}' returns {int(scores.shape[0])} masks for a batch of {BATCH} images: "
                             "one per image is needed.")
    check_class_count(int(scores.shape[1]), name, "classes per pixel")
    _check_scores(scores, name, "per-pixel scores")
    return int(scores.shape[1])


def check_detections(out: Any, model: nn.Module, name: str) -> int:
    """The classes a detector scores; refuse anything but one dict of boxes (K x 4), labels and scores per image."""
    from .kinds import is_detections

    if not is_detections(out, BATCH):
        raise ModelLoadError(f"'{name}' does not return one dict of 'boxes', 'labels' and 'scores' per image (for a "
                             f"batch of {BATCH}), so it cannot be read as a detection model.")
    top = 0
    for item in out:
        boxes, labels, scores = item["boxes"], item["labels"], item["scores"]
        if boxes.ndim != 2 or int(boxes.shape[1]) != 4 or not len(boxes) == len(labels) == len(scores):
            raise ModelLoadError(f"'{name}' returns boxes of shape {tuple(boxes.shape)} with {len(labels)} labels and "
                                 f"{len(scores)} scores: K x 4 boxes with K labels and K scores are needed.")
        if len(boxes) > limits.MAX_DETECTIONS:
            raise ModelLoadError(f"'{name}' returns {len(boxes)} boxes for one image; at most {limits.MAX_DETECTIONS} "
                                 "are supported (interpret/limits.py, MAX_DETECTIONS).")
        _check_scores(scores, name, "detection scores")
        _check_scores(boxes, name, "boxes")
        top = max([top, *(int(v) + 1 for v in labels.tolist())])
    classes = detection_classes(model) or max(top, 1)
    check_class_count(classes, name)
    return classes


def _vector(out: Any, model: nn.Module, name: str, kind: str) -> Passed:
    """A classifier's, embedding's or regression's output: a 2-D tensor, or a regression's one value per image."""
    if kind == "regression" and isinstance(out, torch.Tensor) and out.ndim == 1:
        if int(out.shape[0]) != BATCH:
            raise ModelLoadError(f"'{name}' returns {int(out.shape[0])} values for a batch of {BATCH} images: "
                                 "one per image is needed.")
        _check_scores(out, name, "values")
        return Passed(with_pick(model, (("unsqueeze", -1),)), 1, kind)
    outputs = check_output(out, name)
    return Passed(with_logits(model, out, BATCH, name), outputs, kind)


def checked_pass(model: nn.Module, pre: Preprocessing, device: torch.device, name: str,
                 kind: str | None = None) -> Passed:
    """Check the weights, run a batch of 2 under the time bound, read the model's kind from its output (or check it
    fits the `kind` named), check the output; return the model to run, its outputs per image and its kind.

    The model returned is `model` itself when it returns what its kind's methods read (a tensor of scores, a
    detector's list of dicts), else `model` wrapped so that it does (the scores picked out of a tuple, dict or
    ModelOutput, one value per image made a column; same layer names, outputs.with_pick)."""
    if kind is not None:
        check_kind(kind)
    out = _first_output(model, pre, device, name)
    read = read_kind(out, model, BATCH)
    chosen = kind or read
    if chosen != read and {chosen, read} & {"segmentation", "detection"}:
        raise ModelLoadError(f"'{name}' was named {KINDS[chosen].a_model}, which returns "
                             f"{KINDS[chosen].scores}, but it returns {KINDS[read].scores}.")
    if chosen == "segmentation":
        classes = check_segmentation(out, name)
        return Passed(with_pick(model, segmentation_pick(out) or ()), classes, chosen)
    if chosen == "detection":
        return Passed(model, check_detections(out, model, name), chosen)
    return _vector(out, model, name, chosen)


def first_pass(model: nn.Module, pre: Preprocessing, device: torch.device, name: str) -> tuple[nn.Module, int]:
    """A classifier's `checked_pass`: the model to run and its classes (a model of another kind is refused).

    The model returned is `model` itself when it returns a tensor of scores, else `model` wrapped so that it
    does (its logits picked out of a tuple, dict or ModelOutput; same layer names, outputs.with_logits)."""
    passed = checked_pass(model, pre, device, name, kind="classifier")
    return passed.model, passed.outputs


def _first_output(model: nn.Module, pre: Preprocessing, device: torch.device, name: str) -> Any:
    """Check the weights and run a batch of 2 under the time bound: what the model returns, or a ModelLoadError."""
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
    return out
