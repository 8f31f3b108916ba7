"""What each attribution method needs from a model, and whether a given model has it.

Every method declares `requires` (a tuple of the Requirements below). `applicable(lm, method)` checks
them on a model and answers (True, "") or (False, one-line reason); the pages offer only the methods that
can run and list the others with their reason (a method may also explain only some objectives: its
`objectives`, checked when one is named), `attribute()` refuses a method that cannot (a
MethodUnavailable naming the reason), and `interpret methods --model SPEC` prints the same table.

Checks are cheap and cached per model architecture (the key before any '|' suffix: the private copies of
the sanity check have the same layers and activations): at most one census forward pass
(interpret.attribution.activations), one gradient probe and one layer listing per model. A requirement
that can only be known by trying (torch.fx tracing for DeepLIFT) is checked when the method runs, and a
failure there is remembered (`remember_refusal`), so the pages then list the method as not available.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..errors import InterpretError
from ..models import LoadedModel
from ..models.kinds import a_model
from .activations import census, is_torchscript, probe_input

TORCHSCRIPT_HINT = "load the architecture with its weights, or a torch.export .pt2 file, instead"


class MethodUnavailable(InterpretError):
    """A method was asked for on a model that lacks what the method needs."""


@dataclass(frozen=True)
class Requirement:
    """One thing a method needs from a model: `check(lm)` is None when the model has it, else the reason."""

    name: str
    needs: str  # what the method needs, as a phrase ("gradients that reach the input")
    check: Callable[[LoadedModel], str | None]


def _autograd(lm: LoadedModel) -> str | None:
    x = probe_input(lm).requires_grad_(True)
    with torch.enable_grad():
        out = lm.model(x)
    if lm.kind == "detection":  # a detector's scores, one tensor per image
        out = torch.cat([item["scores"] for item in out]) if isinstance(out, (list, tuple)) and out else None
    if not isinstance(out, torch.Tensor) or out.grad_fn is None:
        return "the model's scores do not depend differentiably on its input (no gradient reaches the pixels)"
    return None


def _layers(lm: LoadedModel) -> str | None:
    if is_torchscript(lm) or not lm.hookable:
        return f"its layers cannot be captured in a TorchScript model ({TORCHSCRIPT_HINT})"
    from ..layers import default_cam_layer

    if default_cam_layer(lm) is None:
        return "the model has no layer with a spatial output (a feature map or a token grid) to compute a CAM on"
    return None


def _relu_units(lm: LoadedModel) -> str | None:
    if is_torchscript(lm):
        return f"a TorchScript model's activations cannot be modified ({TORCHSCRIPT_HINT})"
    found = census(lm)
    if found.others:
        return (f"its rule is defined for ReLU-type units only, and this model also uses {found.others_text()} "
                "(the map would be part plain gradient)")
    if not found.relus:
        return "the model calls no ReLU-type activation its rule could modify (the map would be the plain gradient)"
    from .guided import forward_is_unchanged

    if not forward_is_unchanged(lm):
        return "its ReLUs are used in a way the modified backward pass cannot reproduce (the outputs change)"
    return None


def _deeplift_rules(lm: LoadedModel) -> str | None:
    if is_torchscript(lm):
        return f"torch.fx cannot rewrite a TorchScript model for DeepLIFT ({TORCHSCRIPT_HINT})"
    found = census(lm)
    if found.others:
        return (f"its rules here cover ReLU, ReLU6 and max pooling only, and this model also uses "
                f"{found.others_text()} (the map would not sum to f(x) - f(baseline))")
    kinds = {cls.__name__ for cls in type(lm.model).__mro__}
    if "UnflattenedModule" in kinds:
        return "its torch.fx rewrite cannot trace a torch.export program's graph modules"
    if "PreTrainedModel" in kinds:
        return "its torch.fx rewrite cannot trace a transformers model (it needs transformers' own tracer)"
    return None


AUTOGRAD = Requirement("autograd", "gradients of the score that reach the input pixels", _autograd)
LAYERS = Requirement("layers", "a named layer with a spatial output that hooks can capture", _layers)
RELU_UNITS = Requirement("relu_units", "ReLU-type activations only (ReLU, ReLU6), in Python code it can modify",
                         _relu_units)
DEEPLIFT_RULES = Requirement("deeplift_rules", "nonlinearities covered by its rules (ReLU, ReLU6, max pooling) "
                             "and a model torch.fx can trace", _deeplift_rules)
REQUIREMENTS = (AUTOGRAD, LAYERS, RELU_UNITS, DEEPLIFT_RULES)

_MAX_ENTRIES = 4096  # (architecture, requirement) answers kept: a few per model ever loaded
_CACHE: OrderedDict[tuple[str, str], str | None] = OrderedDict()
_GUARD = threading.Lock()


def architecture_key(lm: LoadedModel) -> str:
    """The model's key without the suffixes its private copies and variants add."""
    return lm.key.split("|", 1)[0]


def unmet(lm: LoadedModel, requirement: Requirement) -> str | None:
    """The reason `lm` lacks `requirement`, or None (cached per architecture)."""
    key = (architecture_key(lm), requirement.name)
    with _GUARD:
        if key in _CACHE:
            return _CACHE[key]
    try:
        reason = requirement.check(lm)
    except InterpretError as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - a probe that fails is a reason, not a crash of the page
        reason = f"checking it failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})"
    remember(lm, requirement, reason)
    return reason


def remember(lm: LoadedModel, requirement: Requirement, reason: str | None) -> None:
    with _GUARD:
        _CACHE[(architecture_key(lm), requirement.name)] = reason
        while len(_CACHE) > _MAX_ENTRIES:
            _CACHE.popitem(last=False)


def remember_refusal(lm: LoadedModel, requirement: Requirement, reason: str) -> None:
    """A requirement found unmet only when the method ran (e.g. torch.fx could not trace the model)."""
    remember(lm, requirement, reason)


# why a method whose rules hold for the class score only cannot explain another objective
OBJECTIVE_REASONS = {
    "probability": "a probability is a softmax (or sigmoid) of the class scores",
    "loss": "a loss is a log-softmax (or log-sigmoid) of the class scores",
}


def unfit_objective(objectives: tuple[str, ...], objective: str | None) -> str | None:
    """Why a method that explains `objectives` cannot explain `objective` (None: it can, or none was named)."""
    if objective is None or objective in objectives:
        return None
    return (f"its rules hold for the class score only, and {OBJECTIVE_REASONS.get(objective, objective)}, which they "
            f"do not propagate (the map would not sum to the change of the {objective}); explain the logit instead")


def applicable(lm: LoadedModel, method: str, objective: str | None = None) -> tuple[bool, str]:
    """(True, "") if the method can compute an honest map on this model (of `objective`, when named: 'logit',
    'probability' or 'loss'), else (False, the one-line reason)."""
    from .base import get_method

    impl = get_method(method)
    if lm.kind not in impl.kinds:
        return False, (f"{impl.label}: it explains {' and '.join(impl.kinds)} models here, and this is {a_model(lm.kind)}.")
    for requirement in impl.requires:
        reason = unmet(lm, requirement)
        if reason is not None:
            return False, f"{impl.label}: {reason}."
    reason = unfit_objective(impl.objectives, objective)
    if reason is not None:
        return False, f"{impl.label}: {reason}."
    return True, ""


def split_applicable(lm: LoadedModel, methods: list[str], objective: str | None = None
                     ) -> tuple[list[str], dict[str, str]]:
    """The methods that can run on `lm` (in order; of `objective`, when named), and {method: reason} for the others."""
    ok, refused = [], {}
    for method in methods:
        can, reason = applicable(lm, method, objective)
        if can:
            ok.append(method)
        else:
            refused[method] = reason
    return ok, refused


def require(lm: LoadedModel, method: str, objective: str | None = None) -> None:
    """Raise MethodUnavailable with the reason if `method` cannot run on `lm` (or explain `objective` there)."""
    can, reason = applicable(lm, method, objective)
    if not can:
        raise MethodUnavailable(reason)
