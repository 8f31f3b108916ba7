"""`methods`: every attribution method with its parameters and their defaults, and with `--model`, whether it
can run on that model (and why not)."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import add_model_arguments, model_from_args
from .output import print_json

if TYPE_CHECKING:  # --help needs no torch
    from ..attribution.base import AttributionMethod


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("methods", help="list the attribution methods and their parameters "
                                                   "(with --model: which of them apply to that model, and why not)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_model_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..attribution import REGISTRY
    from ..attribution.requirements import applicable

    verdicts: dict[str, tuple[bool, str]] = {}
    if args.model is not None:
        lm = model_from_args(args)
        verdicts = {name: applicable(lm, name) for name in REGISTRY}
        if not args.json:
            print(f"on {lm.spec}: {sum(ok for ok, _ in verdicts.values())} of {len(verdicts)} methods apply")
    if args.json:
        print_json([described(method, verdicts.get(name)) for name, method in REGISTRY.items()])
        return 0
    for name, method in REGISTRY.items():
        print_method(method, verdicts.get(name))
    return 0


def described(method: AttributionMethod, verdict: tuple[bool, str] | None) -> dict:
    """The method's facts as JSON, with whether it applies to the model (and why not) where one was given."""
    entry = method.describe()
    if verdict is not None:
        entry["applicable"], entry["reason"] = verdict[0], verdict[1] or None
    return entry


def print_method(method: AttributionMethod, verdict: tuple[bool, str] | None) -> None:
    """A method's line (family, sign, layer, and whether it applies), why not, what it needs and its parameters."""
    flags = [method.family, "signed" if method.signed else "unsigned"] + (["uses --layer"] if method.uses_layer else [])
    status = "" if verdict is None else "  [applies]" if verdict[0] else "  [NOT AVAILABLE]"
    print(f"{method.name:<22} {method.label} ({', '.join(flags)}){status}")
    if verdict is not None and not verdict[0]:
        print(f"    why: {verdict[1]}")
    if method.requires:
        print(f"    needs: {'; '.join(r.needs for r in method.requires)}")
    for p in method.params:
        if p.choices:
            choices = f" one of {', '.join(map(str, p.choices))}"
        else:
            choices = f" in [{p.low:g}, {p.high:g}]" if p.low is not None else ""
        print(f"    {p.name}={p.default}  {p.kind}{choices}: {p.help}")
