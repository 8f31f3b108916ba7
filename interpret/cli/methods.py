"""`methods`: every attribution method with its parameters and their defaults."""
from __future__ import annotations

import argparse

from .output import print_json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("methods", help="list the attribution methods and their parameters")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..attribution import REGISTRY

    if args.json:
        print_json([method.describe() for method in REGISTRY.values()])
        return 0
    for method in REGISTRY.values():
        flags = [method.family, "signed" if method.signed else "unsigned"] + (["uses --layer"] if method.uses_layer else [])
        print(f"{method.name:<22} {method.label} ({', '.join(flags)})")
        for p in method.params:
            if p.choices:
                choices = f" one of {', '.join(map(str, p.choices))}"
            else:
                choices = f" in [{p.low:g}, {p.high:g}]" if p.low is not None else ""
            print(f"    {p.name}={p.default}  {p.kind}{choices}: {p.help}")
    return 0
