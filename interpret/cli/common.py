"""Arguments and helpers shared by the CLI commands."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InterpretError
from ..images import InputImage, load_image_file
from ..models import DEFAULT_SPEC, LoadedModel, load_model, parse_class_names
from ..samples import SAMPLES, load_sample


class CliError(InterpretError):
    """A bad command-line argument."""


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_SPEC,
                        help=f"model spec (default {DEFAULT_SPEC}; torchvision:NAME, timm:NAME, or a TorchScript file)")
    parser.add_argument("--weights", help="a state-dict file for the architecture, or 'random'")
    parser.add_argument("--classes", help="class names file (.txt one per line, or .json)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default cpu)")


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action="store_true",
                        help="draw a progress bar on stderr (the default when stderr is a terminal)")


def wants_progress(args: argparse.Namespace) -> bool:
    """A progress bar on stderr: asked for, or stderr is a terminal (pipes and tests stay clean)."""
    return bool(getattr(args, "progress", False)) or sys.stderr.isatty()


def model_from_args(args: argparse.Namespace) -> LoadedModel:
    names = None
    if getattr(args, "classes", None):
        path = Path(args.classes)
        if not path.is_file():
            raise CliError(f"The class-names file '{path}' does not exist.")
        names = parse_class_names(path.read_bytes(), path.name)
    return load_model(args.model, args.device, weights=args.weights, class_names=names)


def read_image(text: str) -> InputImage:
    """An image file, or `sample:NAME` for one of the sample photos."""
    if text.startswith("sample:"):
        name = text.split(":", 1)[1]
        if name not in SAMPLES:
            raise CliError(f"No sample named '{name}'. Samples: {', '.join(SAMPLES)}.")
        return load_sample(name)
    path = Path(text)
    if not path.is_file():
        raise CliError(f"The image '{text}' does not exist (give a file path, or sample:NAME).")
    return load_image_file(path)


def print_json(value) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")
