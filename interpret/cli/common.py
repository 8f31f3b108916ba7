"""Arguments and helpers shared by the CLI commands."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InterpretError
from .preprocessing_args import add_preprocessing_arguments, apply_changes, preprocessing_from_args

if TYPE_CHECKING:  # the heavy modules (torch) are imported where they run, so --help and usage errors stay fast
    from ..images import InputImage
    from ..models import LoadedModel


class CliError(InterpretError):
    """A bad command-line argument."""


# The spec forms of interpret/models/sources/ (kept here as text: --help must not import torch; a test checks
# that every source of the table is named).
MODEL_HELP = ("model spec (default bundled:efficientnet_lite0; or torchvision:NAME, timm:NAME, timm:hf-hub:ORG/NAME, "
              "hf:FOLDER or hf:ORG/NAME for transformers, py:MODULE:CALLABLE for your own class, PATH.pt2 for "
              "torch.export, or a TorchScript file, file:PATH or PATH; the last three need --trust-code)")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,  # None: interpret.models.DEFAULT_SPEC, read when the model loads
                        help=MODEL_HELP)
    parser.add_argument("--weights", help="a checkpoint (state dict) for a torchvision, timm or py: architecture, "
                                          "or 'random'")
    parser.add_argument("--ema", action="store_true",
                        help="load the EMA copy of the weights from a --weights checkpoint that holds one "
                             "(e.g. timm's state_dict_ema, model_ema)")
    parser.add_argument("--model-kwargs", metavar="JSON", default=None,
                        help="keyword arguments for a py:MODULE:CALLABLE factory, as a JSON object, "
                             "e.g. '{\"num_classes\": 10}'")
    parser.add_argument("--classes", help="class names file (.txt one per line, or .json)")
    parser.add_argument("--activation", choices=("softmax", "sigmoid"), default=None,
                        help="how scores become probabilities (default: the model's own; sigmoid for a multi-label "
                             "config or a one-output head, else softmax)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default cpu)")
    parser.add_argument("--trust-code", action="store_true",
                        help="load a --model that is code (a TorchScript or .pt2 file, a py: factory): it can run "
                             "anything on this machine, so give this only for a file or code you trust")
    add_preprocessing_arguments(parser)


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action="store_true",
                        help="draw a progress bar on stderr (the default when stderr is a terminal)")


def wants_progress(args: argparse.Namespace) -> bool:
    """A progress bar on stderr: asked for, or stderr is a terminal (pipes and tests stay clean)."""
    return bool(getattr(args, "progress", False)) or sys.stderr.isatty()


def quiet_libraries(args: argparse.Namespace) -> None:
    """Keep the model libraries' own progress bars and load reports (transformers, huggingface_hub) off stderr
    unless progress was asked for: stderr is where the CLI's one-line messages go, and transformers drew a bar and
    a many-line report above a refusal. A user's own HF_HUB_DISABLE_PROGRESS_BARS or TRANSFORMERS_VERBOSITY wins."""
    if wants_progress(args):
        return
    if "HF_HUB_DISABLE_PROGRESS_BARS" not in os.environ:
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # read when huggingface_hub is imported
        if "huggingface_hub" in sys.modules:  # imported already (a test's process): tell it directly
            sys.modules["huggingface_hub"].utils.disable_progress_bars()
        if "transformers" in sys.modules:
            sys.modules["transformers"].utils.logging.disable_progress_bar()
    if "TRANSFORMERS_VERBOSITY" not in os.environ:
        os.environ["TRANSFORMERS_VERBOSITY"] = "error"
        if "transformers" in sys.modules:
            sys.modules["transformers"].utils.logging.set_verbosity_error()


def model_from_args(args: argparse.Namespace) -> LoadedModel:
    from ..devices import fit_cpu_threads
    from ..models import DEFAULT_SPEC, load_model, parse_kwargs
    from ..models.classes import read_class_names_file

    fit_cpu_threads()  # a container's CPU quota, before the first pass
    quiet_libraries(args)

    names = read_class_names_file(args.classes) if getattr(args, "classes", None) else None

    changes = preprocessing_from_args(args)
    if changes:  # the flags change the model's own preprocessing, which only its source knows
        args.preprocessing = lambda own: apply_changes(own, changes)
    return load_model(args.model or DEFAULT_SPEC, args.device, weights=args.weights, class_names=names,
                      trust_code=bool(getattr(args, "trust_code", False)),
                      model_kwargs=parse_kwargs(getattr(args, "model_kwargs", None)),
                      prefer="ema" if getattr(args, "ema", False) else None, **_overrides(args))


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The activation and preprocessing overrides the arguments hold (`args.preprocessing`: a Preprocessing)."""
    overrides: dict[str, Any] = {}
    if getattr(args, "activation", None):
        overrides["activation"] = args.activation
    if getattr(args, "preprocessing", None) is not None:
        overrides["preprocessing"] = args.preprocessing
    return overrides


def read_image(text: str) -> InputImage:
    """An image file, or `sample:NAME` for one of the sample photos; what decoding changed (the image's notes,
    e.g. NaN pixels replaced) is printed on stderr, so a JSON report on stdout stays clean."""
    image = _read_image(text)
    for note in image.notes:
        print(f"note: {note}", file=sys.stderr)
    return image


def _read_image(text: str) -> InputImage:
    from ..images import load_image_file
    from ..samples import SAMPLES, load_sample

    if text.startswith("sample:"):
        name = text.split(":", 1)[1]
        if name not in SAMPLES:
            raise CliError(f"No sample named '{name}'. Samples: {', '.join(SAMPLES)}.")
        return load_sample(name)
    path = Path(text)
    if path.is_dir():
        raise CliError(f"The image '{text}' is a folder, not an image file (give a file path, or sample:NAME).")
    if not path.exists():
        raise CliError(f"The image '{text}' does not exist (give a file path, or sample:NAME).")
    return load_image_file(path)
