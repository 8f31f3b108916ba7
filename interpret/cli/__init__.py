"""`python -m interpret COMMAND`: the app's computations from a shell, one module per command."""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import InterpretError

# command name -> module (in this package) exposing add_parser(subparsers) and run(args) -> int
COMMANDS = {
    "predict": "predict",
    "layers": "layers",
    "features": "features",
    "mistakes": "mistakes",
    "explain": "explain",
    "methods": "methods",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other failure here
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m interpret", description="Explain PyTorch image models from the shell.")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module_name in COMMANDS.values():
        importlib.import_module(f"{__name__}.{module_name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except InterpretError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except (RuntimeError, MemoryError) as exc:
        from ..devices import describe_device_failure

        sys.stderr.write(f"error: {describe_device_failure(exc, getattr(args, 'device', 'the device'))}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
