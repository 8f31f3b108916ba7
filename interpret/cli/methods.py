"""`methods`: every attribution method with its parameters and their defaults, and with `--model`, whether it
can run on that model (and why not)."""
from __future__ import annotations

import argparse

from .common import add_model_arguments, model_from_args
from .output import print_json


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
    if args.json:
        described = []
        for name, method in REGISTRY.items():
            entry = method.describe()
            if name in verdicts:
                entry["applicable"], entry["reason"] = verdicts[name][0], verdicts[name][1] or None
            described.append(entry)
        print_json(described)
        return 0
    if verdicts:
        print(f"on {lm.spec}: {sum(ok for ok, _ in verdicts.values())} of {len(verdicts)} methods apply")
    for name, method in REGISTRY.items():
        flags = [method.family, "signed" if method.signed else "unsigned"] + (["uses --layer"] if method.uses_layer else [])
        status = ""
        if name in verdicts:
            status = "  [applies]" if verdicts[name][0] else "  [NOT AVAILABLE]"
        print(f"{method.name:<22} {method.label} ({', '.join(flags)}){status}")
        if name in verdicts and not verdicts[name][0]:
            print(f"    why: {verdicts[name][1]}")
        if method.requires:
            print(f"    needs: {'; '.join(r.needs for r in method.requires)}")
        for p in method.params:
            if p.choices:
                choices = f" one of {', '.join(map(str, p.choices))}"
            else:
                choices = f" in [{p.low:g}, {p.high:g}]" if p.low is not None else ""
            print(f"    {p.name}={p.default}  {p.kind}{choices}: {p.help}")
    return 0
